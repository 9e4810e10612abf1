/**
 * The README works as written: every ```sh and ```ts block runs, in order, against a real kvsd, and
 * each is followed by checks of what it claims (fragments listed, files written, frames decoded).
 *
 * The one change made to a block: its endpoint, http://127.0.0.1:4568, becomes the test server's
 * address. Everything else is the README's text. The blocks run like a reader's terminal would:
 * - one working directory for all of them, a fresh one inside this clone (.tmp/, git-ignored), so that
 *   `npx kvsd` finds this checkout's kvsd exactly as it does for a reader in their clone, and files made
 *   by one block (test.mkv, out.mkv) are there for the next;
 * - a ```sh block runs with `bash -euo pipefail`; what it exports is kept for the later blocks (a reader
 *   types them into one shell);
 * - a ```ts block is saved as a .ts file in that directory and run with `node --import tsx FILE`, so
 *   '@aws-sdk/...' resolves from the clone's node_modules and 'kvsd' through package.json "exports";
 * - the environment starts without any AWS_* settings (but the SDK's Node 20 warning switch), npm
 *   script variables, node:test's NODE_TEST_CONTEXT or ~/.aws files: the README must set up what it
 *   needs. PATH has /usr/bin first so that `aws` is AWS CLI v2 (a pyenv CLI v1 may come first
 *   otherwise), and KVSD_ENDPOINT points at a closed port, so that a `kvsd put` without --endpoint
 *   fails instead of reaching whatever may listen on 4568.
 * Blocks that cannot run here carry `<!-- readme-test: skip (reason) -->`; the expected set is listed
 * below, so a new skip is a deliberate change of this file. No block runs at all unless every runnable
 * block has exactly one check and none installs or changes the machine (UNSAFE): an unmarked `npm ci`
 * would otherwise replace the clone's node_modules.
 */
// needs: ffmpeg, gstreamer, mkvtoolnix, aws, boto3, curl
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { run, type Run } from '../helpers/cli.js';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { ffprobeFrames, mkvinfoLevel1 } from '../helpers/readers.js';
import { listAll } from '../helpers/sdk.js';
import { codeBlocks, type CodeBlock } from './blocks.js';

const REPO = resolve(import.meta.dirname, '../..');
const README_ENDPOINT = '127.0.0.1:4568';
const README = readFileSync(join(REPO, 'README.md'), 'utf8');
const blocks = codeBlocks(README);
const runnable = blocks.filter((b) => !b.skip && (b.lang === 'sh' || b.lang === 'ts'));

/** The blocks allowed not to run, by their reason. */
const EXPECTED_SKIPS = ['installs, and serves in the foreground: the README test starts its own kvsd'];

interface BlockContext {
  kvsd: KvsdProcess;
  dir: string;
  result: Run;
}

/** What each block must have achieved, found by a string only that block contains. */
const CHECKS: { marker: string; check: (c: BlockContext) => Promise<void> }[] = [
  {
    marker: 'get-media-for-fragment-list', // the AWS CLI walk-through
    check: async ({ kvsd, dir, result }) => {
      assert.match(result.stdout, /^aws-cli\/2\./m, '`aws` is AWS CLI v2');
      const fragments = await listAll(kvsd.url, 'cam1');
      assert.equal(fragments.length, 5, 'kvsd put stored one fragment per 2 s keyframe interval');
      for (const f of fragments)
        assert.ok(result.stdout.includes(f.FragmentNumber!), `echo $FRAGS printed ${f.FragmentNumber}`);
      assert.ok(existsSync(join(dir, 'out.mkv')), 'get-media-for-fragment-list wrote out.mkv');
      assert.equal(await ffprobeFrames(join(dir, 'out.mkv')), 250, 'out.mkv holds all 10 s of video');
      assert.match(result.stdout, /^250$/m, 'the ffprobe line printed 250 frames, as its comment says');
    },
  },
  {
    marker: 'paginateListFragments', // the JS SDK program, run after the CLI steps made cam1
    check: async ({ kvsd, result }) => {
      const listed = result.stdout
        .split('\n')
        .filter((l) => /^\d{47} /.test(l))
        .map((l) => l.split(' ')[0]);
      const stored = (await listAll(kvsd.url, 'cam1')).map((f) => f.FragmentNumber);
      assert.equal(stored.length, 5);
      assert.deepEqual(
        listed,
        stored,
        'every stored fragment, oldest first, including those with future producer timestamps',
      );
    },
  },
  {
    marker: 'sine=frequency=440', // ffmpeg with audio into kvsd put
    check: async ({ kvsd, result }) => {
      assertAcks(result, 5);
      assert.equal((await listAll(kvsd.url, 'cam1')).length, 10);
    },
  },
  {
    marker: 'x-amzn-producer-start-timestamp', // ffmpeg -re into curl
    check: async ({ kvsd, result }) => {
      assertAcks(result, 3);
      assert.equal((await listAll(kvsd.url, 'cam1')).length, 13);
    },
  },
  {
    marker: 'gst-launch-1.0', // GStreamer into kvsd put
    check: async ({ kvsd, result }) => {
      assertAcks(result, 5);
      assert.equal((await listAll(kvsd.url, 'cam1')).length, 18);
    },
  },
  {
    marker: 'whole.mkv', // reading concatenated MKV back
    check: async ({ dir, result }) => {
      assert.equal(
        (await mkvinfoLevel1(join(dir, 'out.mkv'))).code,
        1,
        'mkvinfo -a exits 1 on out.mkv, as the README says',
      );
      assert.match(result.stdout, /mkvinfo: exit 1 on out\.mkv/);
      assert.match(result.stdout, /whole\.mkv: one MKV document/);
      assert.equal((await mkvinfoLevel1(join(dir, 'whole.mkv'))).code, 0, 'whole.mkv is one valid document');
      assert.equal(await ffprobeFrames(join(dir, 'whole.mkv')), 250, 'the remux kept every frame');
    },
  },
  {
    marker: 'startServer', // the library program: its own server, its own stream
    check: async ({ result }) => {
      const persisted = result.stdout.split('\n').filter((l) => /^PERSISTED \d{47}$/.test(l));
      assert.equal(persisted.length, 5, `five PERSISTED acknowledgements:\n${result.stdout}`);
    },
  },
];

/** The PutMedia acknowledgements (JSON lines) a producer block printed: `persisted` PERSISTED, no ERROR. */
function assertAcks(result: Run, persisted: number) {
  const acks = result.stdout
    .split('\n')
    .filter((l) => l.startsWith('{"EventType"'))
    .map((l) => JSON.parse(l) as { EventType: string });
  assert.deepEqual(
    acks.filter((a) => a.EventType === 'ERROR'),
    [],
    'no ERROR acknowledgement',
  );
  assert.equal(acks.filter((a) => a.EventType === 'PERSISTED').length, persisted, result.stdout);
}

const checksOf = (block: CodeBlock) => CHECKS.filter((c) => block.code.includes(c.marker));

/**
 * Commands that change the machine or the clone beyond the working directory. A README block with one of
 * them is never run, whatever its marker says: `npm ci` run from inside the clone, for one, replaces the
 * clone's node_modules (through a symlink, the directory it points to).
 */
const UNSAFE =
  /\bnpm (ci|install|i|uninstall|update)\b|\bapt(-get)? |\bsudo\b|\bnpx kvsd serve\b|^\s*kvsd serve\b|\brm -r|\bgit /m;

/**
 * Why the blocks must not be run at all: a block nobody checks may be anything (an install, a server in
 * the foreground), so the run starts only when every runnable block is known and safe.
 */
function reasonsNotToRun(): string[] {
  const reasons: string[] = [];
  const skipped = blocks.filter((b) => b.skip !== undefined).map((b) => b.skip);
  if (JSON.stringify(skipped) !== JSON.stringify(EXPECTED_SKIPS))
    reasons.push(`skipped blocks ${JSON.stringify(skipped)}, expected ${JSON.stringify(EXPECTED_SKIPS)}`);
  for (const b of blocks)
    if (!['sh', 'ts', 'text'].includes(b.lang))
      reasons.push(`README.md:${b.line}: a '${b.lang}' block (sh, ts or text only)`);
  for (const b of runnable) {
    const n = checksOf(b).length;
    if (n !== 1) reasons.push(`README.md:${b.line}: ${n} checks match this block (exactly one must)`);
    if (UNSAFE.test(b.code))
      reasons.push(`README.md:${b.line}: runs ${UNSAFE.exec(b.code)![0]} (mark it skip, or change it)`);
  }
  if (runnable.length !== CHECKS.length) reasons.push(`${runnable.length} runnable blocks for ${CHECKS.length} checks`);
  return reasons;
}

/** A reader's fresh terminal: no AWS settings, no npm script variables; see the header comment. */
function terminalEnv(): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(
    ([name]) =>
      !/^npm_/i.test(name) &&
      name !== 'NODE_TEST_CONTEXT' &&
      (!name.startsWith('AWS_') || name === 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'),
  );
  return {
    ...Object.fromEntries(inherited),
    PATH: `/usr/bin:${process.env.PATH ?? ''}`,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    KVSD_ENDPOINT: 'http://127.0.0.1:1',
  };
}

test('every code block of the README is sh, ts or text', () => {
  assert.deepEqual(
    blocks.filter((b) => !['sh', 'ts', 'text'].includes(b.lang)).map((b) => `README.md:${b.line} '${b.lang}'`),
    [],
  );
});

test('the README blocks that do not run are exactly the expected ones', () => {
  assert.deepEqual(
    blocks.filter((b) => b.skip !== undefined).map((b) => b.skip),
    EXPECTED_SKIPS,
  );
});

test('the README links only files of this repository (a clone has nothing beside it) or web pages', () => {
  const targets = [...README.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((t) => !/^(https?:|#)/.test(t));
  assert.ok(targets.length > 0);
  for (const target of targets) {
    const path = resolve(REPO, target.split('#')[0]!);
    assert.ok(
      path.startsWith(`${REPO}/`) && existsSync(path),
      `README links ${target}, which is not in the repository`,
    );
  }
});

test('every runnable README block has exactly one check, and none installs or changes the machine', () => {
  assert.deepEqual(reasonsNotToRun(), []);
});

const notRunBecause = reasonsNotToRun();

describe('the README, run in order against a real kvsd', {
  skip: notRunBecause.length > 0 && `not run: ${notRunBecause.join('; ')}`,
}, () => {
  let kvsd: KvsdProcess;
  let dir: string;
  let envFile: string;

  before(async () => {
    kvsd = await startKvsd();
    mkdirSync(join(REPO, '.tmp'), { recursive: true });
    dir = mkdtempSync(join(REPO, '.tmp', 'readme-'));
    envFile = join(dir, '.terminal-env');
    writeFileSync(envFile, '');
  });
  after(async () => {
    await kvsd?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs shell text in the shared terminal: the working directory, and the exports of earlier blocks. */
  function inTerminal(name: string, shell: string): Promise<Run> {
    const script = join(dir, `.${name}.sh`);
    writeFileSync(script, `cd '${dir}'\nsource '${envFile}'\n${shell}\nexport -p > '${envFile}'\n`);
    return run('bash', ['-euo', 'pipefail', script], { env: terminalEnv(), timeoutMs: 120_000 });
  }

  const withEndpoint = (block: CodeBlock) => block.code.replaceAll(README_ENDPOINT, `127.0.0.1:${kvsd.port}`);
  const tsFile = (block: CodeBlock) => join(dir, `readme-${block.line}.ts`);

  // tsx only strips types: check them too, so that the programs are correct TypeScript, not just runnable.
  test('the TypeScript blocks type-check (tsc --strict)', async () => {
    const files = runnable
      .filter((b) => b.lang === 'ts')
      .map((b) => {
        writeFileSync(tsFile(b), withEndpoint(b));
        return tsFile(b);
      });
    const r = await run(join(REPO, 'node_modules/.bin/tsc'), [
      '--noEmit',
      '--strict',
      '--target',
      'es2023',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--skipLibCheck',
      '--types',
      'node',
      ...files,
    ]);
    assert.equal(r.code, 0, `tsc:\n${r.stdout}${r.stderr}`);
  });

  for (const block of runnable) {
    const firstLine = block.code.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#'))!;
    test(`README.md:${block.line} (${block.lang}) ${firstLine.slice(0, 60)}`, async () => {
      let result: Run;
      if (block.lang === 'sh') {
        result = await inTerminal(`block-${block.line}`, withEndpoint(block));
      } else {
        writeFileSync(tsFile(block), withEndpoint(block));
        result = await inTerminal(`block-${block.line}`, `node --import tsx '${tsFile(block)}'`);
      }
      assert.equal(
        result.code,
        0,
        `README.md:${block.line} exited ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`,
      );
      await checksOf(block)[0]!.check({ kvsd, dir, result });
    });
  }
});
