#!/usr/bin/env node
/** The `kvsd` command. */
import { DEFAULTS, startServer, type ServerOptions } from './server.js';
import { putCommand } from './client/putCommand.js';
import { seedThroughEndpoint } from './client/seedEndpoint.js';
import {
  formatOptions,
  isHelpFlag,
  optionText,
  parseCommandLine,
  switchOn,
  UsageError,
  wholeNumber,
  type OptionSpec,
} from './client/commandLine.js';
import { KvsServiceError } from './client/putMediaClient.js';
import { DEFAULT_BODY_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_HEADER_BYTES } from './protocol/limits.js';
import { openArchive } from './openArchive.js';
import { seedFragments, seedSummary } from './archive/seed.js';

/** A flag of `kvsd serve`: its command-line spec, the ServerOptions field it sets, and how its text is read. */
interface ServeOption extends OptionSpec {
  key: keyof ServerOptions;
  /**
   * 'port': 0..65535; 'count': a whole number (startServer checks its range); 'switch-off': a switch that sets
   * `key` to false (--quiet: log false); default: the text as is, or true for a switch.
   */
  kind?: 'port' | 'count' | 'switch-off';
}

/** Where the archive is stored (src/storage/open.ts): flags of both `kvsd serve` and `kvsd seed`. */
const STORAGE_OPTION = {
  catalog: {
    name: 'catalog',
    value: 'URL',
    env: 'KVSD_CATALOG',
    default: 'sqlite:<data-dir>/catalog.sqlite',
    description: 'the catalog: sqlite:PATH[?readers=N] (docs/storage.md)',
  },
  media: {
    name: 'media',
    value: 'URL',
    env: 'KVSD_MEDIA',
    default: 'file:<data-dir>/media',
    description: 'the media store: file:PATH (docs/storage.md)',
  },
} satisfies Record<string, OptionSpec>;

/** Every flag of `kvsd serve`, in --help order: parsing, environment variables and --help all come from here. */
const SERVE_OPTIONS: readonly ServeOption[] = [
  {
    name: 'host',
    value: 'ADDR',
    env: 'KVSD_HOST',
    default: DEFAULTS.host,
    key: 'host',
    description: 'address to listen on',
  },
  {
    name: 'port',
    value: 'N',
    env: 'KVSD_PORT',
    default: String(DEFAULTS.port),
    key: 'port',
    kind: 'port',
    description: 'port, 0 picks a free one',
  },
  {
    name: 'data-dir',
    value: 'DIR',
    env: 'KVSD_DATA_DIR',
    default: DEFAULTS.dataDir,
    key: 'dataDir',
    description: 'catalog, media and keys (docs/storage.md)',
  },
  { ...STORAGE_OPTION.catalog, key: 'catalog' },
  { ...STORAGE_OPTION.media, key: 'media' },
  {
    name: 'region',
    value: 'R',
    env: 'KVSD_REGION',
    default: DEFAULTS.region,
    key: 'region',
    description: 'region in ARNs',
  },
  {
    name: 'account-id',
    value: 'N',
    env: 'KVSD_ACCOUNT_ID',
    default: DEFAULTS.accountId,
    key: 'accountId',
    description: '12-digit account in ARNs',
  },
  {
    name: 'public-url',
    value: 'URL',
    env: 'KVSD_PUBLIC_URL',
    default: 'the URL kvsd listens on',
    key: 'publicUrl',
    description: 'what GetDataEndpoint returns behind a proxy',
  },
  { name: 'quiet', env: 'KVSD_QUIET', default: 'off', key: 'log', kind: 'switch-off', description: 'no request log' },

  {
    group: 'Who may do what (docs/auth.md)',
    name: 'auth',
    value: 'FILE',
    env: 'KVSD_AUTH',
    key: 'auth',
    description:
      'SigV4 principals and per-stream permissions, JSON; without it every well-formed request is accepted, on loopback only',
  },
  {
    group: 'Who may do what (docs/auth.md)',
    name: 'allow-anonymous',
    env: 'KVSD_ALLOW_ANONYMOUS',
    default: 'off',
    key: 'allowAnonymous',
    description: 'listen on a non-loopback address without --auth',
  },
  {
    group: 'Who may do what (docs/auth.md)',
    name: 'quotas',
    value: 'aws|off|FILE',
    env: 'KVSD_QUOTAS',
    default: 'off (aws with --mode aws)',
    key: 'quotas',
    description: "request rates and connection limits: AWS's numbers, none, or a JSON file",
  },
  {
    group: 'Who may do what (docs/auth.md)',
    name: 'mode',
    value: 'default|aws',
    env: 'KVSD_MODE',
    default: "'default'",
    key: 'mode',
    choices: ['default', 'aws'],
    description:
      "aws: AWS's published behaviour: --quotas aws, ListFragments unordered, a visibility delay, credential scope must name --region",
  },
  {
    group: 'Who may do what (docs/auth.md)',
    name: 'visibility-delay-ms',
    value: 'MS|MIN-MAX',
    env: 'KVSD_VISIBILITY_DELAY_MS',
    default: '0 (0-1000 with --mode aws)',
    key: 'visibilityDelayMs',
    description: 'delay before a PERSISTED fragment is listable',
  },

  {
    group: 'Hardening',
    name: 'max-connections',
    value: 'N',
    env: 'KVSD_MAX_CONNECTIONS',
    default: `${DEFAULT_MAX_CONNECTIONS}, lower if ulimit -n is too small`,
    key: 'maxConnections',
    kind: 'count',
    description:
      'simultaneous TCP connections (each PutMedia producer holds one); at the limit idle ones are closed first',
  },
  {
    group: 'Hardening',
    name: 'max-connections-per-address',
    value: 'N',
    env: 'KVSD_MAX_CONNECTIONS_PER_ADDRESS',
    default: 'no cap',
    key: 'maxConnectionsPerAddress',
    kind: 'count',
    description: 'simultaneous TCP connections from one client address',
  },
  {
    group: 'Hardening',
    name: 'max-header-bytes',
    value: 'N',
    env: 'KVSD_MAX_HEADER_BYTES',
    default: String(DEFAULT_MAX_HEADER_BYTES),
    key: 'maxHeaderBytes',
    kind: 'count',
    description: 'request line and headers (431 beyond)',
  },
  {
    group: 'Hardening',
    name: 'body-timeout-ms',
    value: 'MS',
    env: 'KVSD_BODY_TIMEOUT_MS',
    default: String(DEFAULT_BODY_TIMEOUT_MS),
    key: 'bodyTimeoutMs',
    kind: 'count',
    description: 'time allowed for a JSON request body; PutMedia exempt (408 beyond)',
  },
  {
    group: 'Hardening',
    name: 'live-buffer-bytes',
    value: 'N',
    env: 'KVSD_LIVE_BUFFER_BYTES',
    default: '268435456 (256 MiB)',
    key: 'liveBufferBytes',
    kind: 'count',
    description: 'memory for recent fragments of streams that retain nothing (GetMedia), all streams together',
  },
  {
    group: 'Hardening',
    name: 'live-buffer-max-age-ms',
    value: 'MS',
    env: 'KVSD_LIVE_BUFFER_MAX_AGE_MS',
    default: '300000 (5 min)',
    key: 'liveBufferMaxAgeMs',
    kind: 'count',
    description: 'age past which those fragments are dropped',
  },

  {
    group: 'Performance',
    name: 'catalog-readers',
    value: 'N',
    env: 'KVSD_CATALOG_READERS',
    default: 'cores - 1, at most 4',
    key: 'catalogReaders',
    kind: 'count',
    description: 'threads reading ListFragments pages, 0 = main thread (same as ?readers=N of a sqlite: --catalog)',
  },
];

const SERVE_USAGE = `Usage: kvsd serve [options]
Runs the server. Each option can also be set with the environment variable shown; the flag wins.

${formatOptions(SERVE_OPTIONS)}`;

const USAGE = `Usage: kvsd <command> [options]

Commands:
  kvsd serve [options]                               run the server (kvsd serve --help)
  kvsd put --stream NAME [options] FILE|-            upload MKV with PutMedia (kvsd put --help)
  kvsd seed --stream NAME --fragments N [options]    bulk-load synthetic fragments (kvsd seed --help)
  kvsd help [COMMAND]                                show this text, or a command's

Options of serve:
${formatOptions(SERVE_OPTIONS)}
`;

/** The ServerOptions the flags and environment ask for; a flag left out stays undefined (startServer's default). */
function serverOptions(args: string[]): { options: ServerOptions; help: boolean } {
  const parsed = parseCommandLine('serve', SERVE_OPTIONS, args);
  if (parsed.help) return { options: {}, help: true };
  const options: Record<string, unknown> = {};
  for (const spec of SERVE_OPTIONS) {
    if (spec.value === undefined) {
      const on = switchOn(parsed, spec);
      options[spec.key] = spec.kind === 'switch-off' ? !on : on;
      continue;
    }
    const text = optionText(parsed, spec);
    if (text === undefined) continue;
    if (spec.kind === 'port') options[spec.key] = wholeNumber('serve', spec.name, text, 0, 65535);
    else if (spec.kind === 'count') options[spec.key] = wholeNumber('serve', spec.name, text, 0);
    else options[spec.key] = text;
  }
  return { options: options as ServerOptions, help: false };
}

function fail(message: string, who = 'kvsd'): never {
  process.stderr.write(`${who}: ${message}\n`);
  process.exit(2);
}

async function serve(args: string[]) {
  const { options, help } = serverOptions(args);
  if (help) return void process.stdout.write(`${SERVE_USAGE}\n`);
  const server = await startServer(options).catch((err: Error) => fail(err.message));
  process.stdout.write(`kvsd listening on ${server.url}\n`);
  process.stdout.write(
    options.auth
      ? `kvsd: requests must be signed (SigV4) by a principal of ${String(options.auth)}\n`
      : 'kvsd: no --auth: requests are not authenticated, every caller may do everything\n',
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`kvsd: ${signal}, shutting down\n`);
    server.close().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`kvsd: ${err}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

const SEED_OPTION = {
  stream: { name: 'stream', value: 'NAME', description: 'stream to write to (required)' },
  fragments: { name: 'fragments', value: 'N', description: 'how many one-frame fragments to write (required)' },
  create: { name: 'create', description: 'create the stream (retention 24 h) if it does not exist' },
  start: {
    name: 'start',
    value: 'T',
    default: 'now - N x interval',
    description: 'producer timestamp of the first fragment, epoch seconds',
  },
  intervalMs: { name: 'interval-ms', value: 'MS', default: '2000', description: 'spacing of producer timestamps' },
  frameBytes: { name: 'frame-bytes', value: 'B', default: '256', description: 'payload bytes per fragment' },
  dataDir: {
    name: 'data-dir',
    value: 'DIR',
    env: 'KVSD_DATA_DIR',
    default: DEFAULTS.dataDir,
    description: 'the data directory to write into',
  },
  ...STORAGE_OPTION,
  endpoint: {
    name: 'endpoint',
    value: 'URL',
    description: "instead of --data-dir: send the fragments to a running kvsd's PutMedia (e.g. http://127.0.0.1:4568)",
  },
  region: {
    name: 'region',
    value: 'R',
    env: 'KVSD_REGION',
    default: DEFAULTS.region,
    description: 'region in the ARN of a created stream; with --endpoint, the signing region',
  },
  accountId: {
    name: 'account-id',
    value: 'N',
    env: 'KVSD_ACCOUNT_ID',
    default: DEFAULTS.accountId,
    description: 'account in the ARN of a created stream',
  },
} satisfies Record<string, OptionSpec>;
const SEED_OPTIONS: readonly OptionSpec[] = Object.values(SEED_OPTION);

const SEED_USAGE = `Usage: kvsd seed --stream NAME --fragments N [options]
Writes N one-frame fragments (ABSOLUTE timecodes) through the ingest path, exactly what PutMedia writes: straight
into a data directory (a running kvsd on the same directory sees them at once), or with --endpoint through a
running server's PutMedia. Prints one JSON line: stream, persisted, errors, seconds, fragmentsPerSecond; exits 1
unless every fragment was persisted.

${formatOptions(SEED_OPTIONS)}`;

/** What `kvsd seed` is asked to do, or undefined when it was asked for --help. */
function seedPlan(args: string[]) {
  const parsed = parseCommandLine('seed', SEED_OPTIONS, args);
  if (parsed.help) return undefined;
  const text = (spec: OptionSpec) => optionText(parsed, spec);
  const count = (spec: OptionSpec, fallback: string) => wholeNumber('seed', spec.name, text(spec) ?? fallback, 1);
  const stream = text(SEED_OPTION.stream);
  if (!stream) throw new UsageError('seed', '--stream is required');
  if (text(SEED_OPTION.fragments) === undefined) throw new UsageError('seed', '--fragments is required');
  const fragments = count(SEED_OPTION.fragments, '');
  const intervalMs = count(SEED_OPTION.intervalMs, '2000');
  const frameBytes = count(SEED_OPTION.frameBytes, '256');
  const start = text(SEED_OPTION.start);
  const startMs = start !== undefined ? Math.round(Number(start) * 1000) : Date.now() - fragments * intervalMs;
  if (!Number.isSafeInteger(startMs) || startMs < 0)
    throw new UsageError('seed', `--start must be epoch seconds, got '${start}'`);
  const endpoint = text(SEED_OPTION.endpoint);
  const local = [SEED_OPTION.dataDir, SEED_OPTION.catalog, SEED_OPTION.media].find((o) => parsed.values.has(o.name));
  if (endpoint !== undefined && local) throw new UsageError('seed', `give --endpoint or --${local.name}, not both`);
  return {
    stream,
    fragments,
    intervalMs,
    frameBytes,
    startMs,
    endpoint,
    create: switchOn(parsed, SEED_OPTION.create),
    dataDir: text(SEED_OPTION.dataDir) ?? DEFAULTS.dataDir,
    catalog: text(SEED_OPTION.catalog),
    media: text(SEED_OPTION.media),
    region: text(SEED_OPTION.region),
    accountId: text(SEED_OPTION.accountId),
  };
}

async function seed(args: string[]) {
  const plan = seedPlan(args);
  if (!plan) return void process.stdout.write(`${SEED_USAGE}\n`);
  if (plan.endpoint !== undefined) {
    process.exitCode = await seedThroughEndpoint({ ...plan, endpoint: plan.endpoint });
    return;
  }
  const { stream: streamName, fragments, startMs, intervalMs, frameBytes } = plan;
  const archive = await openArchive({
    dataDir: plan.dataDir,
    ...(plan.catalog !== undefined && { catalog: plan.catalog }),
    ...(plan.media !== undefined && { media: plan.media }),
    region: plan.region ?? DEFAULTS.region,
    accountId: plan.accountId ?? DEFAULTS.accountId,
    catalogReaders: 0, // seeding never lists
  });
  try {
    let stream = await archive.catalog.findStreamByName(streamName);
    if (!stream && plan.create)
      stream = await archive.streams.create({ StreamName: streamName, DataRetentionInHours: 24 });
    if (!stream) fail(`stream ${streamName} does not exist (use --create)`);
    if (stream.retentionHours === 0) fail(`stream ${streamName} retains no data (DataRetentionInHours 0)`);
    const started = Date.now();
    const result = await seedFragments(archive, stream, {
      fragments,
      startMs,
      intervalMs,
      frameBytes,
      onProgress: (n) => {
        if (n % 100_000 === 0) process.stderr.write(`seeded ${n}\n`);
      },
    });
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(`${seedSummary(stream.name, result, seconds)}\n`);
    if (result.persisted !== fragments) process.exitCode = 1;
  } finally {
    await archive.close();
  }
}

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  serve,
  seed,
  put: async (args) => {
    process.exitCode = await putCommand(args);
  },
  help: async ([topic]) => {
    if (topic !== undefined && topic !== 'help' && COMMANDS[topic]) return COMMANDS[topic]!(['--help']);
    if (topic !== undefined && !isHelpFlag(topic)) throw new UsageError('help', `unknown command '${topic}'`);
    process.stdout.write(USAGE);
  },
};

/** How an error ends the command: one line on stderr, exit 2 (see kvsd put --help for put's other statuses). */
function report(err: unknown): never {
  if (err instanceof UsageError) {
    const who = err.command === 'help' ? 'kvsd' : `kvsd ${err.command}`;
    fail(`${err.message} (see ${who} --help)`, who);
  }
  // The service's error code is what scripts and people look for ("ResourceNotFoundException: ..."): the
  // service message alone does not name it.
  if (err instanceof KvsServiceError) fail(`${err.code} (HTTP ${err.statusCode}): ${err.message}`);
  fail(err instanceof Error ? err.message : String(err));
}

const [command = 'help', ...rest] = process.argv.slice(2);
const run = isHelpFlag(command) ? COMMANDS.help! : COMMANDS[command];
if (!run) report(new UsageError('help', `unknown command '${command}'`));
run(rest).catch(report);
