/**
 * Starts a real kvsd process (the built CLI) on a free loopback port, for integration tests.
 * Stopped by PID; `kill9()` simulates a crash, `restart()` starts again on the same data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { CLI } from './cli.js';

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
