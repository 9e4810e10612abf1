/**
 * Help and usage errors of the kvsd command line, on the built CLI: every way of asking for help prints that
 * command's whole usage to stdout and exits 0; every mistake is one kvsd line on stderr pointing to --help,
 * exit 2, never Node's parseArgs text.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runKvsd } from '../helpers/cli.js';

/** Every flag of kvsd serve with its environment variable and default, as a new user needs to see them. */
const SERVE_FLAGS: [flag: string, env: string, shownDefault: string | undefined][] = [
  ['--host ADDR', 'KVSD_HOST', '127.0.0.1'],
  ['--port N', 'KVSD_PORT', '4568'],
  ['--data-dir DIR', 'KVSD_DATA_DIR', './kvsd-data'],
  ['--catalog URL', 'KVSD_CATALOG', 'sqlite:<data-dir>/catalog.sqlite'],
  ['--media URL', 'KVSD_MEDIA', 'file:<data-dir>/media'],
  ['--region R', 'KVSD_REGION', 'us-east-1'],
  ['--account-id N', 'KVSD_ACCOUNT_ID', '000000000000'],
  ['--public-url URL', 'KVSD_PUBLIC_URL', 'the URL kvsd listens on'],
  ['--quiet', 'KVSD_QUIET=1', 'off'],
  ['--auth FILE', 'KVSD_AUTH', undefined],
  ['--allow-anonymous', 'KVSD_ALLOW_ANONYMOUS=1', 'off'],
  ['--quotas aws|off|FILE', 'KVSD_QUOTAS', 'off'],
  ['--mode default|aws', 'KVSD_MODE', "'default'"],
  ['--visibility-delay-ms MS|MIN-MAX', 'KVSD_VISIBILITY_DELAY_MS', '0'],
  ['--max-connections N', 'KVSD_MAX_CONNECTIONS', '1000, lower if ulimit -n is too small'],
  ['--max-connections-per-address N', 'KVSD_MAX_CONNECTIONS_PER_ADDRESS', 'no cap'],
  ['--max-header-bytes N', 'KVSD_MAX_HEADER_BYTES', '16384'],
  ['--body-timeout-ms MS', 'KVSD_BODY_TIMEOUT_MS', '30000'],
  ['--live-buffer-bytes N', 'KVSD_LIVE_BUFFER_BYTES', '268435456 (256 MiB)'],
  ['--live-buffer-max-age-ms MS', 'KVSD_LIVE_BUFFER_MAX_AGE_MS', '300000 (5 min)'],
  ['--catalog-readers N', 'KVSD_CATALOG_READERS', 'cores - 1, at most 4'],
];

/** The options of a usage text, flag line and its wrapped continuation lines joined: one string per flag. */
function optionEntries(usage: string): string[] {
  const entries: string[] = [];
  for (const line of usage.split('\n')) {
    if (/^ {2}--/.test(line)) entries.push(line.trim());
    else if (/^ {4,}\S/.test(line) && entries.length > 0 && !/^\s+\d\s/.test(line))
      entries[entries.length - 1] += ` ${line.trim()}`;
    else if (line.trim() === '' || !/^\s/.test(line)) entries.push(''); // a blank line or heading ends an entry
  }
  return entries.filter((e) => e.startsWith('--'));
}

async function assertHelp(args: string[], firstLine: RegExp) {
  const r = await runKvsd(args);
  assert.equal(r.code, 0, `kvsd ${args.join(' ')}: exit ${r.code}, stderr: ${r.stderr}`);
  assert.equal(r.stderr, '', `kvsd ${args.join(' ')} writes nothing to stderr`);
  assert.match(r.stdout.split('\n')[0]!, firstLine, `kvsd ${args.join(' ')} prints its usage`);
  return r.stdout;
}

/** A usage error: exit 2, nothing on stdout, one line on stderr naming the problem and where help is. */
async function assertUsageError(args: string[], message: RegExp, see: string) {
  const r = await runKvsd(args);
  assert.equal(r.code, 2, `kvsd ${args.join(' ')}: exit ${r.code}`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
  assert.match(lines[0]!, message);
  assert.ok(lines[0]!.includes(`see ${see} --help`), lines[0]);
  assert.doesNotMatch(
    r.stderr,
    /TypeError|ERR_PARSE_ARGS|To specify|positional argument|at .*\.js:\d+/,
    'no Node internals',
  );
}

describe('kvsd help', () => {
  it('--help, -h and help print the commands and every serve flag, exit 0', async () => {
    const outputs = await Promise.all(
      [['--help'], ['-h'], ['help'], []].map((a) => assertHelp(a, /^Usage: kvsd <command>/)),
    );
    for (const out of outputs) {
      assert.equal(out, outputs[0]);
      for (const cmd of ['serve', 'put', 'seed']) assert.match(out, new RegExp(`kvsd ${cmd} `));
      for (const [flag] of SERVE_FLAGS) assert.ok(out.includes(flag), `${flag} in kvsd --help`);
    }
  });

  it('serve --help (and -h, help serve) lists every flag with its environment variable and default', async () => {
    const outputs = await Promise.all(
      [
        ['serve', '--help'],
        ['serve', '-h'],
        ['help', 'serve'],
        ['serve', '--port', '1', '--help'],
      ].map((a) => assertHelp(a, /^Usage: kvsd serve/)),
    );
    for (const out of outputs) assert.equal(out, outputs[0]);
    const entries = optionEntries(outputs[0]!);
    for (const [flag, env, shownDefault] of SERVE_FLAGS) {
      const line = entries.find((l) => l.startsWith(`${flag} `));
      assert.ok(line, `a line for ${flag}:\n${outputs[0]}`);
      assert.ok(line.includes(`(${env}`), `${flag} names ${env}: ${line}`);
      if (shownDefault !== undefined)
        assert.ok(line.includes(`default ${shownDefault}`), `${flag} shows default ${shownDefault}: ${line}`);
    }
    assert.equal(entries.length, SERVE_FLAGS.length, 'no flag more or less than expected');
  });

  it('put --help and seed --help print their usage; put says what the start timestamp defaults to and the exit codes', async () => {
    const [put, putShort, putHelp] = await Promise.all(
      [
        ['put', '--help'],
        ['put', '-h'],
        ['help', 'put'],
      ].map((a) => assertHelp(a, /^Usage: kvsd put/)),
    );
    assert.equal(putShort, put);
    assert.equal(putHelp, put);
    const start = optionEntries(put).find((l) => l.startsWith('--producer-start-timestamp'))!;
    assert.match(start, /default now/);
    assert.doesNotMatch(start, /required/, 'not "required" and "default: now" at once');
    for (const code of ['0', '1', '2'])
      assert.match(put, new RegExp(`^\\s+${code}\\s+\\S`, 'm'), `exit status ${code} documented`);
    assert.match(put, /--timecode-type/);
    const [seed, seedShort] = await Promise.all(
      [
        ['seed', '--help'],
        ['seed', '-h'],
      ].map((a) => assertHelp(a, /^Usage: kvsd seed/)),
    );
    assert.equal(seedShort, seed);
    for (const flag of ['--stream', '--fragments', '--data-dir', '--endpoint', '--create'])
      assert.ok(seed.includes(flag), flag);
  });
});

describe('usage errors', () => {
  it('an unknown command or option is one line pointing to --help, exit 2', async () => {
    await Promise.all([
      assertUsageError(['bogus'], /^kvsd: unknown command 'bogus'/, 'kvsd'),
      assertUsageError(['help', 'bogus'], /^kvsd: unknown command 'bogus'/, 'kvsd'),
      assertUsageError(['serve', '--bogus'], /^kvsd serve: unknown option '--bogus'/, 'kvsd serve'),
      assertUsageError(['serve', 'extra'], /^kvsd serve: unexpected argument 'extra'/, 'kvsd serve'),
      assertUsageError(['put', '--bogus', '-'], /^kvsd put: unknown option '--bogus'/, 'kvsd put'),
      assertUsageError(['seed', '--bogus'], /^kvsd seed: unknown option '--bogus'/, 'kvsd seed'),
    ]);
  });

  it("bad values get kvsd's own message naming the flag", async () => {
    await Promise.all([
      assertUsageError(['serve', '--port', '-1'], /^kvsd serve: --port must be 0\.\.65535, got '-1'/, 'kvsd serve'),
      assertUsageError(['serve', '--port', 'abc'], /^kvsd serve: --port must be 0\.\.65535, got 'abc'/, 'kvsd serve'),
      assertUsageError(['serve', '--port=70000'], /^kvsd serve: --port must be .*got '70000'/, 'kvsd serve'),
      assertUsageError(['serve', '--port'], /^kvsd serve: --port needs a value/, 'kvsd serve'),
      assertUsageError(
        ['serve', '--mode', 'fast'],
        /^kvsd serve: --mode must be 'default' or 'aws', got 'fast'/,
        'kvsd serve',
      ),
      assertUsageError(
        ['serve', '--max-connections', 'many'],
        /^kvsd serve: --max-connections must be a whole number/,
        'kvsd serve',
      ),
      assertUsageError(
        ['put', '--stream', 's', '--timecode-type', 'LOCAL', '-'],
        /^kvsd put: --timecode-type must be ABSOLUTE or RELATIVE/,
        'kvsd put',
      ),
      assertUsageError(['put', '-'], /^kvsd put: --stream is required/, 'kvsd put'),
      assertUsageError(
        ['seed', '--stream', 's', '--fragments', '-5'],
        /^kvsd seed: --fragments must be a whole number >= 1, got '-5'/,
        'kvsd seed',
      ),
    ]);
  });

  it('environment variables are read through the same table and checked the same way', async () => {
    const r = await runKvsd(['serve'], { KVSD_PORT: 'abc' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^kvsd serve: --port must be 0\.\.65535, got 'abc'/);
    const mode = await runKvsd(['serve'], { KVSD_MODE: 'fast' });
    assert.equal(mode.code, 2);
    assert.match(
      mode.stderr,
      /^kvsd serve: --mode must be 'default' or 'aws', got 'fast' \(see kvsd serve --help\)\n$/,
    );
  });
});
