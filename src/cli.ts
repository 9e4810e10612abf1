#!/usr/bin/env node
/** The `kvsd` command. */
import { parseArgs } from 'node:util';
import { DEFAULTS, startServer } from './server.js';

const USAGE = `Usage:
  kvsd serve [options]      run the server
  kvsd help                 show this text

Options of serve (each also read from the environment variable shown):
  --host ADDR          address to listen on (KVSD_HOST, default ${DEFAULTS.host})
  --port N             port, 0 picks a free one (KVSD_PORT, default ${DEFAULTS.port})
  --data-dir DIR       catalog, media and keys (KVSD_DATA_DIR, default ${DEFAULTS.dataDir})
  --region R           region in ARNs (KVSD_REGION, default ${DEFAULTS.region})
  --account-id N       12-digit account in ARNs (KVSD_ACCOUNT_ID, default ${DEFAULTS.accountId})
  --public-url URL     what GetDataEndpoint returns behind a proxy (KVSD_PUBLIC_URL)
  --quiet              no request log (KVSD_QUIET=1)
`;

const SERVE_OPTIONS = {
  host: { type: 'string', env: 'KVSD_HOST' },
  port: { type: 'string', env: 'KVSD_PORT' },
  'data-dir': { type: 'string', env: 'KVSD_DATA_DIR' },
  region: { type: 'string', env: 'KVSD_REGION' },
  'account-id': { type: 'string', env: 'KVSD_ACCOUNT_ID' },
  'public-url': { type: 'string', env: 'KVSD_PUBLIC_URL' },
  quiet: { type: 'boolean', env: 'KVSD_QUIET' },
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
  const quiet = values.quiet === true || /^(1|true|yes)$/i.test(process.env.KVSD_QUIET ?? '');

  const server = await startServer({
    host: opt('host'), port, dataDir: opt('data-dir'), region: opt('region'), accountId: opt('account-id'),
    publicUrl: opt('public-url'), log: !quiet,
  }).catch((err: Error) => fail(err.message));
  process.stdout.write(`kvsd listening on ${server.url}\n`);

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

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  serve,
  help: async () => { process.stdout.write(USAGE); },
};

const [command = 'help', ...rest] = process.argv.slice(2);
const run = COMMANDS[command];
if (!run) fail(`unknown command '${command}'\n\n${USAGE}`);
run(rest).catch((err: Error) => fail(err.message));
