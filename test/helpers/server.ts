/**
 * Starts a real kvsd process (the built CLI) on a free loopback port, for integration tests.
 * Stopped by PID; `kill9()` simulates a crash, `restart()` starts again on the same data directory.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';

const CLI = resolve(import.meta.dirname, '../../dist/src/cli.js');

export interface KvsdProcess {
  url: string;
  port: number;
  dataDir: string;
  pid: number;
  /** Everything the process printed (stdout and stderr). */
  output(): string;
  stop(): Promise<void>;
  kill9(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the process and removes the data directory. */
  dispose(): Promise<void>;
}

export async function startKvsd(
  opts: {
    args?: string[];
    env?: Record<string, string>;
    dataDir?: string;
    /** Runs on the data directory before the server starts and locks it (e.g. `kvsd seed` of a big data set). */
    prepare?: (dataDir: string) => Promise<unknown>;
    /** A command that execs the rest, e.g. ['prlimit', '--nofile=256:256'] (the PID stays kvsd's). */
    wrapper?: string[];
  } = {},
): Promise<KvsdProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'kvsd-test-'));
  await opts.prepare?.(dataDir);
  let child: ChildProcess;
  let log = '';
  let port = 0;

  async function launch() {
    // Reuse the port on restart so that clients and URLs stay valid.
    const command = [
      ...(opts.wrapper ?? []),
      process.execPath,
      CLI,
      'serve',
      '--port',
      String(port),
      '--data-dir',
      dataDir,
      ...(opts.args ?? []),
    ];
    child = spawn(command[0]!, command.slice(1), {
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
    });
    const url = await new Promise<string>((resolveUrl, reject) => {
      const timer = setTimeout(() => reject(new Error(`kvsd did not start:\n${log}`)), 15_000);
      child.stdout!.on('data', (d: Buffer) => {
        log += d.toString();
        const m = /kvsd listening on (http:\/\/\S+)/.exec(log);
        if (m) {
          clearTimeout(timer);
          resolveUrl(m[1]!);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`kvsd exited with ${code}:\n${log}`));
      });
    });
    port = Number(new URL(url).port);
    proc.url = url;
    proc.port = port;
    proc.pid = child.pid!;
  }

  async function signal(sig: NodeJS.Signals) {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    process.kill(child.pid!, sig);
    await exited;
  }

  const proc: KvsdProcess = {
    url: '',
    port: 0,
    dataDir,
    pid: 0,
    output: () => log,
    stop: () => signal('SIGTERM'),
    kill9: () => signal('SIGKILL'),
    restart: async () => {
      await signal('SIGTERM');
      await launch();
    },
    dispose: async () => {
      await signal('SIGTERM');
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  await launch();
  return proc;
}

/** SDK client configuration for a kvsd URL. */
export function clientConfig(url: string) {
  return {
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'kvsd-test-secret' },
    maxAttempts: 1,
  };
}

/** What a command-line tool (aws, python3, curl, ffprobe...) did: its exit code and output. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool to completion; rejects only if it could not be run (or timed out). */
export function run(
  file: string,
  args: string[],
  opts: { stdin?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const child = execFile(
      file,
      args,
      { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number')
          return reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr}`));
        resolveRun({ code: err ? (err.code as number) : 0, stdout, stderr });
      },
    );
    if (opts.stdin !== undefined) child.stdin!.end(opts.stdin);
  });
}

/** Environment for /usr/bin/aws and /usr/bin/python3 (boto3) pointed at kvsd. */
export function awsEnv(): Record<string, string> {
  return {
    ...(process.env as Record<string, string>),
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'kvsd-test-secret',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_PAGER: '',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
}
