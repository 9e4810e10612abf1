/**
 * Child processes of the bench: kvsd itself (`node dist/src/cli.js serve`) and the ceiling servers. Each
 * runs in its own process so that its memory can be read from /proc and the load generator never shares
 * its event loop. Every child is stopped by its PID, and all of them when the bench exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

const live = new Set<ChildProcess>();
function killAll() {
  for (const child of live) if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

/** CPU ticks (utime + stime) of the children still running. */
export function liveChildTicks(): number {
  let ticks = 0;
  for (const child of live) {
    try {
      const text = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      const f = text
        .slice(text.lastIndexOf(')') + 2)
        .split(' ')
        .map(Number);
      ticks += f[11]! + f[12]!;
    } catch {
      /* exited */
    }
  }
  return ticks;
}

export interface Proc {
  pid: number;
  url: string;
  /** Resident memory now, bytes (VmRSS). */
  rss(): number;
  /** Peak resident memory so far, bytes (VmHWM). */
  peakRss(): number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

function statusField(pid: number, field: string): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Starts `node <nodeArgs>` and waits for a line `... listening on <url>`. */
async function startListening(
  nodeArgs: string[],
  what: string,
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<Proc> {
  const child = spawn(process.execPath, nodeArgs, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  live.add(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    stderr = (stderr + s).slice(-4000);
  });
  const exited = new Promise<number | null>((res) =>
    child.once('exit', (code) => {
      live.delete(child);
      res(code);
    }),
  );
  const url = await new Promise<string>((res, rej) => {
    let out = '';
    const timer = setTimeout(
      () => rej(new Error(`${what} did not start within ${timeoutMs} ms: ${stderr}`)),
      timeoutMs,
    );
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m[1]!);
        out = '';
      } else if (out.length > 10_000) out = out.slice(-1000);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`${what} exited with ${code} before listening: ${stderr}`));
    });
  });
  const pid = child.pid!;
  return {
    pid,
    url,
    rss: () => statusField(pid, 'VmRSS'),
    peakRss: () => statusField(pid, 'VmHWM'),
    async stop(graceMs = 20_000) {
      if (child.exitCode !== null) return child.exitCode;
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (child.exitCode === null) process.kill(pid, 'SIGKILL');
      }, graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export interface KvsdOptions {
  /** Write a V8 CPU profile of the server into this folder when it exits. */
  cpuProfDir?: string;
  /** Extra environment variables for the server (experiments, e.g. UV_THREADPOOL_SIZE). */
  env?: Record<string, string>;
}

export function startKvsd(dataDir: string, opts: KvsdOptions = {}): Promise<Proc> {
  const prof = opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
  return startListening(
    [...prof, 'dist/src/cli.js', 'serve', '--port', '0', '--data-dir', dataDir, '--quiet'],
    'kvsd serve',
    opts.env,
  );
}

/** A helper server from bench/servers/ (a ceiling), run through tsx in its own process. */
export function startHelper(script: string, args: string[] = []): Promise<Proc> {
  return startListening(['--import', 'tsx', resolve(ROOT, 'bench/servers', script), ...args], script);
}

/** Runs a command to completion, forwarding selected stderr lines; rejects on a non-zero exit. */
export function run(
  cmd: string,
  args: string[],
  opts: { onStderrLine?: (line: string) => void; quiet?: boolean } = {},
): Promise<string> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
    });
    let partial = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      err = (err + s).slice(-8000);
      partial += s;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) opts.onStderrLine?.(line);
    });
    child.once('exit', (code) => {
      live.delete(child);
      if (code === 0) res(out);
      else rej(new Error(`${cmd} ${args.join(' ')} exited with ${code}\n${out.slice(-4000)}\n${err}`));
    });
  });
}
