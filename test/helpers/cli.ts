/**
 * Command lines: the built kvsd CLI (run to completion, or spawned to talk to its stdin) and the other
 * tools tests drive (the AWS CLI v2, boto3's python3, curl, ffprobe...).
 */
import { execFile, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { TEST_CREDENTIALS } from './sdk.js';

/** The built CLI (`npm run build`): tests run kvsd as users do, in its own process. */
export const CLI = resolve(import.meta.dirname, '../../dist/src/cli.js');
export const AWS = '/usr/bin/aws';
export const PYTHON = '/usr/bin/python3';

export const CREDENTIALS_ENV = {
  AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
};

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
    const options = { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 256 * 1024 * 1024 };
    const child = execFile(file, args, options, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        return reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr}`));
      }
      resolveRun({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
    if (opts.stdin !== undefined) child.stdin!.end(opts.stdin);
  });
}

/** Environment for /usr/bin/aws and /usr/bin/python3 (boto3) pointed at kvsd. */
export function awsEnv(): Record<string, string> {
  return {
    ...(process.env as Record<string, string>),
    ...CREDENTIALS_ENV,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_PAGER: '',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
}

/** `kvsd ARGS` to completion. */
export function runKvsd(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const envs = { ...process.env, ...CREDENTIALS_ENV, ...env };
  return run(process.execPath, [CLI, ...args], { env: envs, timeoutMs: 60_000 });
}

/** A running `kvsd ARGS` whose stdin the test writes; `done` resolves when it exits. */
export function spawnKvsd(args: string[]) {
  const env = { ...process.env, ...CREDENTIALS_ENV };
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdin.on('error', () => undefined); // the command may stop reading before the test stops writing
  const done = new Promise<Run>((resolveRun, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code: code ?? -1, stdout, stderr }));
  });
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}
