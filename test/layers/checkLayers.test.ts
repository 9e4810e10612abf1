/**
 * The structure checks of `npm run check:layers`: scripts/check-layers.mjs passes on the tree and fails on
 * a copy with an upward import; dpdm, with the flags the script gives it, fails on an import cycle, a
 * type-only one included.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const checker = join(repo, 'scripts', 'check-layers.mjs');
const dpdm = join(repo, 'node_modules', '.bin', 'dpdm');

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A copy of src/ in a temp dir, with `files` (path under src/ → content) added. */
function copyWith(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'kvsd-layers-'));
  dirs.push(root);
  cpSync(join(repo, 'src'), join(root, 'src'), { recursive: true });
  for (const [path, text] of Object.entries(files)) writeFileSync(join(root, 'src', path), text);
  return root;
}

const run = (cmd: string, args: string[], cwd = repo) => spawnSync(cmd, args, { cwd, encoding: 'utf8' });

describe('check-layers', () => {
  it('passes on the tree as it is', () => {
    const r = run(process.execPath, [checker]);
    assert.equal(r.status, 0, r.stderr);
  });

  it('fails on an upward import, naming the file and the layers', () => {
    const root = copyWith({
      'storage/bad.ts': "import { Archive } from '../archive/archive.js';\nexport const a = Archive;\n",
    });
    const r = run(process.execPath, [checker, root]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /src\/storage\/bad\.ts: storage must not import archive/);
  });

  it('fails when a toolkit imports a layer, type-only and multi-line imports included', () => {
    const root = copyWith({
      'mkv/bad.ts': "import type {\n  Caller,\n} from '../auth/access.js';\nexport type C = Caller;\n",
      'api/bad.ts': "export { startServer } from '../server.js';\n",
    });
    const r = run(process.execPath, [checker, root]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /src\/mkv\/bad\.ts: mkv must not import auth/);
    assert.match(r.stderr, /src\/api\/bad\.ts: api imports the composition root/);
  });
});

describe('dpdm (as check:layers runs it)', () => {
  // The arguments check:layers gives dpdm (no shell here: the quotes around the glob go).
  const script: string = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).scripts['check:layers'];
  const dpdmArgs = script
    .slice(script.indexOf('dpdm ') + 5)
    .split(/\s+/)
    .map((a) => a.replace(/^'(.*)'$/, '$1'));

  it('fails on an import cycle, even one of types only', () => {
    const root = mkdtempSync(join(tmpdir(), 'kvsd-cycle-'));
    dirs.push(root);
    mkdirSync(join(root, 'src'));
    // Without the tsconfig (NodeNext resolution), dpdm cannot map './b.js' to b.ts and sees no cycle.
    cpSync(join(repo, 'tsconfig.json'), join(root, 'tsconfig.json'));
    writeFileSync(join(root, 'src', 'a.ts'), "import type { B } from './b.js';\nexport interface A { b?: B }\n");
    writeFileSync(join(root, 'src', 'b.ts'), "import { type A } from './a.js';\nexport interface B { a?: A }\n");
    const r = run(dpdm, dpdmArgs, root);
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stdout, /src\/a\.ts -> src\/b\.ts|src\/b\.ts -> src\/a\.ts/);
  });

  it('passes on the tree as it is', () => {
    const r = run(dpdm, dpdmArgs);
    assert.equal(r.status, 0, r.stdout);
  });
});
