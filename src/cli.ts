#!/usr/bin/env node
/** The `kvsd` command. */
import { parseArgs } from 'node:util';
import { DEFAULTS, startServer } from './server.js';
import { putCommand, PUT_USAGE } from './client/putCommand.js';
import { Archive } from './archive/archive.js';
import { seedFragments } from './archive/seed.js';

const USAGE = `Usage:
  kvsd serve [options]      run the server
  kvsd put --stream NAME [options] FILE|-    upload MKV with PutMedia (see kvsd put --help)
  kvsd seed --stream NAME --fragments N [options]   bulk-load synthetic fragments (tests, benchmarks)
  kvsd help                 show this text

Options of serve (each also read from the environment variable shown):
  --host ADDR          address to listen on (KVSD_HOST, default ${DEFAULTS.host})
  --port N             port, 0 picks a free one (KVSD_PORT, default ${DEFAULTS.port})
  --data-dir DIR       catalog, media and keys (KVSD_DATA_DIR, default ${DEFAULTS.dataDir})
  --region R           region in ARNs (KVSD_REGION, default ${DEFAULTS.region})
  --account-id N       12-digit account in ARNs (KVSD_ACCOUNT_ID, default ${DEFAULTS.accountId})
  --public-url URL     what GetDataEndpoint returns behind a proxy (KVSD_PUBLIC_URL)
  --quiet              no request log (KVSD_QUIET=1)

  Who may do what (docs/auth.md):
  --auth FILE          SigV4 principals and per-stream permissions, JSON (KVSD_AUTH). Without it any
                       well-formed request is accepted, and kvsd only listens on loopback addresses
  --allow-anonymous    listen on a non-loopback address without --auth (KVSD_ALLOW_ANONYMOUS=1)
  --quotas aws|off|FILE  request rates and connection limits: AWS's numbers, none (default), or a JSON
                       file (KVSD_QUOTAS)
  --mode default|aws   aws: AWS's published behaviour for testing KVS code: --quotas aws, ListFragments
                       unordered, fragments listable a delay after PERSISTED, credential scope must
                       name --region (KVSD_MODE, default default)
  --visibility-delay-ms MS|MIN-MAX  delay before a PERSISTED fragment is listable (KVSD_VISIBILITY_DELAY_MS,
                       default 0, or 0-1000 with --mode aws)

  Hardening:
  --max-connections N  simultaneous TCP connections (KVSD_MAX_CONNECTIONS, default 1000)
  --max-header-bytes N request line and headers (KVSD_MAX_HEADER_BYTES, default 16384)
  --body-timeout-ms MS time allowed for a JSON request body; PutMedia exempt (KVSD_BODY_TIMEOUT_MS, default 30000)
  --live-buffer-bytes N  memory for recent fragments of streams that retain nothing, all streams together
                       (KVSD_LIVE_BUFFER_BYTES, default 268435456 = 256 MiB)
  --live-buffer-max-age-ms MS  age past which they are dropped (KVSD_LIVE_BUFFER_MAX_AGE_MS, default 300000)

Performance:
  --catalog-readers N  threads reading ListFragments pages, 0 = main thread (KVSD_CATALOG_READERS,
                       default: cores - 1, at most 4)
`;

const SERVE_OPTIONS = {
  host: { type: 'string', env: 'KVSD_HOST' },
  port: { type: 'string', env: 'KVSD_PORT' },
  'data-dir': { type: 'string', env: 'KVSD_DATA_DIR' },
  region: { type: 'string', env: 'KVSD_REGION' },
  'account-id': { type: 'string', env: 'KVSD_ACCOUNT_ID' },
  'public-url': { type: 'string', env: 'KVSD_PUBLIC_URL' },
  quiet: { type: 'boolean', env: 'KVSD_QUIET' },
  auth: { type: 'string', env: 'KVSD_AUTH' },
  'allow-anonymous': { type: 'boolean', env: 'KVSD_ALLOW_ANONYMOUS' },
  quotas: { type: 'string', env: 'KVSD_QUOTAS' },
  mode: { type: 'string', env: 'KVSD_MODE' },
  'visibility-delay-ms': { type: 'string', env: 'KVSD_VISIBILITY_DELAY_MS' },
  'max-connections': { type: 'string', env: 'KVSD_MAX_CONNECTIONS' },
  'max-header-bytes': { type: 'string', env: 'KVSD_MAX_HEADER_BYTES' },
  'body-timeout-ms': { type: 'string', env: 'KVSD_BODY_TIMEOUT_MS' },
  'catalog-readers': { type: 'string', env: 'KVSD_CATALOG_READERS' },
  'live-buffer-bytes': { type: 'string', env: 'KVSD_LIVE_BUFFER_BYTES' },
  'live-buffer-max-age-ms': { type: 'string', env: 'KVSD_LIVE_BUFFER_MAX_AGE_MS' },
} as const;

function fail(message: string): never {
  process.stderr.write(`kvsd: ${message}\n`);
  process.exit(2);
}

async function serve(args: string[]) {
  const { values } = parseArgs({
    args,
    options: Object.fromEntries(Object.entries(SERVE_OPTIONS).map(([k, v]) => [k, { type: v.type }])) as
      { [K in keyof typeof SERVE_OPTIONS]: { type: (typeof SERVE_OPTIONS)[K]['type'] } },
    strict: true,
  });
  const opt = (name: keyof typeof SERVE_OPTIONS): string | undefined => {
    const v = values[name];
    if (v !== undefined) return String(v);
    return process.env[SERVE_OPTIONS[name].env] || undefined;
  };
  const portText = opt('port');
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) fail(`--port must be 0..65535, got '${portText}'`);
  const flag = (name: 'quiet' | 'allow-anonymous') =>
    values[name] === true || /^(1|true|yes)$/i.test(process.env[SERVE_OPTIONS[name].env] ?? '');
  const quiet = flag('quiet');
  const int = (name: 'max-connections' | 'max-header-bytes' | 'body-timeout-ms' | 'catalog-readers' | 'live-buffer-bytes' | 'live-buffer-max-age-ms') => {
    const text = opt(name);
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text)) fail(`--${name} must be a whole number, got '${text}'`);
    return Number(text);
  };
  const mode = opt('mode');
  if (mode !== undefined && mode !== 'default' && mode !== 'aws') fail(`--mode must be 'default' or 'aws', got '${mode}'`);

  const server = await startServer({
    host: opt('host'), port, dataDir: opt('data-dir'), region: opt('region'), accountId: opt('account-id'),
    publicUrl: opt('public-url'), log: !quiet,
    auth: opt('auth'), allowAnonymous: flag('allow-anonymous'), quotas: opt('quotas'), mode,
    visibilityDelayMs: opt('visibility-delay-ms'),
    maxConnections: int('max-connections'), maxHeaderBytes: int('max-header-bytes'), bodyTimeoutMs: int('body-timeout-ms'),
    catalogReaders: int('catalog-readers'),
    liveBufferBytes: int('live-buffer-bytes'), liveBufferMaxAgeMs: int('live-buffer-max-age-ms'),
  }).catch((err: Error) => fail(err.message));
  process.stdout.write(`kvsd listening on ${server.url}\n`);
  const auth = opt('auth');
  process.stdout.write(auth ? `kvsd: requests must be signed (SigV4) by a principal of ${auth}\n`
    : 'kvsd: no --auth: requests are not authenticated, every caller may do everything\n');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`kvsd: ${signal}, shutting down\n`);
    server.close().then(() => process.exit(0), (err) => { process.stderr.write(`kvsd: ${err}\n`); process.exit(1); });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

const SEED_USAGE = `Usage: kvsd seed --stream NAME --fragments N [options]
Writes N one-frame fragments through the ingest path (exactly what PutMedia writes) straight into a
data directory; a running kvsd on the same directory sees them at once.
  --data-dir DIR       (KVSD_DATA_DIR, default ${DEFAULTS.dataDir})
  --create             create the stream (retention 24 h) if it does not exist
  --start T            producer timestamp of the first fragment, epoch seconds (default: now - N x interval)
  --interval-ms MS     spacing of producer timestamps (default 2000)
  --frame-bytes B      payload bytes per fragment (default 256)
  --region R, --account-id N   for the ARN of a created stream`;

async function seed(args: string[]) {
  if (args.includes('--help')) return void process.stdout.write(`${SEED_USAGE}\n`);
  const { values } = parseArgs({
    args,
    options: {
      'data-dir': { type: 'string' }, stream: { type: 'string' }, fragments: { type: 'string' }, create: { type: 'boolean' },
      start: { type: 'string' }, 'interval-ms': { type: 'string' }, 'frame-bytes': { type: 'string' },
      region: { type: 'string' }, 'account-id': { type: 'string' },
    },
  });
  const int = (name: string, text: string | undefined, fallback: number, min: number) => {
    const n = text === undefined ? fallback : Number(text);
    if (!Number.isSafeInteger(n) || n < min) fail(`--${name} must be an integer >= ${min}`);
    return n;
  };
  if (!values.stream) fail(`--stream is required\n\n${SEED_USAGE}`);
  const fragments = int('fragments', values.fragments, NaN, 1);
  const intervalMs = int('interval-ms', values['interval-ms'], 2000, 1);
  const frameBytes = int('frame-bytes', values['frame-bytes'], 256, 1);
  const startMs = values.start !== undefined ? Math.round(Number(values.start) * 1000) : Date.now() - fragments * intervalMs;
  if (!Number.isSafeInteger(startMs)) fail('--start must be epoch seconds');
  const archive = await Archive.open({
    dataDir: values['data-dir'] ?? process.env.KVSD_DATA_DIR ?? DEFAULTS.dataDir,
    region: values.region ?? process.env.KVSD_REGION ?? DEFAULTS.region,
    accountId: values['account-id'] ?? process.env.KVSD_ACCOUNT_ID ?? DEFAULTS.accountId,
    catalogReaders: 0, // seeding never lists
  });
  try {
    let stream = await archive.catalog.findStreamByName(values.stream);
    if (!stream && values.create) stream = await archive.streams.create({ StreamName: values.stream, DataRetentionInHours: 24 });
    if (!stream) fail(`stream ${values.stream} does not exist (use --create)`);
    if (stream.retentionHours === 0) fail(`stream ${values.stream} retains no data (DataRetentionInHours 0)`);
    const started = Date.now();
    const result = await seedFragments(archive, stream, {
      fragments, startMs, intervalMs, frameBytes,
      onProgress: (n) => { if (n % 100_000 === 0) process.stderr.write(`seeded ${n}\n`); },
    });
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(`${JSON.stringify({ stream: stream.name, ...result, seconds, fragmentsPerSecond: Math.round(result.persisted / seconds) })}\n`);
    if (result.persisted !== fragments) process.exitCode = 1;
  } finally {
    await archive.close();
  }
}

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  serve,
  seed,
  put: async (args) => {
    if (args.includes('--help')) { process.stdout.write(`${PUT_USAGE}\n`); return; }
    process.exitCode = await putCommand(args);
  },
  help: async () => { process.stdout.write(USAGE); },
};

const [command = 'help', ...rest] = process.argv.slice(2);
const run = COMMANDS[command];
if (!run) fail(`unknown command '${command}'\n\n${USAGE}`);
run(rest).catch((err: Error) => fail(err.message));
