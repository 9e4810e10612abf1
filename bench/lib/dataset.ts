/**
 * The cached listing data set: a few big streams seeded with `kvsd seed` (through the real ingest
 * session) plus many empty streams, all in one data directory under .tmp/bench-cache/. A rerun checks
 * each stream's first and last fragment through the API and reseeds only what is missing or wrong.
 * Streams are created through the API with the longest retention (10 years), so that the cache does not
 * expire after a day.
 */
import { mkdirSync } from 'node:fs';
import { ApiCallError, call, createStream, pool, producerRange, type FragmentJson } from './api.js';
import { run, startKvsd } from './proc.js';

/** Producer timestamps of the seeded streams: START_MS + i * INTERVAL_MS for fragment i. */
export const START_MS = 1_600_000_000_000;
export const INTERVAL_MS = 1000;
const RETENTION_HOURS = 87_600;

export interface StreamSpec {
  name: string;
  fragments: number;
}

export interface DatasetResult {
  /** Seconds spent seeding and creating (0 when everything was cached). */
  buildSeconds: number;
  seeded: string[];
}

async function count(base: string, name: string, fromMs: number, toMs: number): Promise<number> {
  const r = await call<{ Fragments: FragmentJson[] }>(base, 'listFragments', {
    StreamName: name,
    MaxResults: 5,
    FragmentSelector: producerRange(fromMs, toMs),
  });
  return r.Fragments.length;
}

/** Exactly one fragment at each end, none outside. */
export async function looksSeeded(base: string, s: StreamSpec): Promise<boolean> {
  try {
    const last = START_MS + (s.fragments - 1) * INTERVAL_MS;
    return (
      (await count(base, s.name, START_MS, START_MS)) === 1 &&
      (await count(base, s.name, last, last)) === 1 &&
      (await count(base, s.name, START_MS - 10 * 365 * 86_400_000, START_MS - 1)) === 0 &&
      (await count(base, s.name, last + 1, last + 10 * 365 * 86_400_000)) === 0
    );
  } catch (err) {
    if (err instanceof ApiCallError && err.type === 'ResourceNotFoundException') return false;
    throw err;
  }
}

export async function ensureDataset(
  dir: string,
  streams: StreamSpec[],
  emptyStreams: number,
  log: (s: string) => void,
): Promise<DatasetResult> {
  mkdirSync(dir, { recursive: true });
  const started = performance.now();
  const seeded: string[] = [];
  // A running server holds the data directory's lock: find what is missing and make those streams anew
  // with the server up, seed them with it stopped (the bulk path), then check them through it again.
  const missing: StreamSpec[] = [];
  let server = await startKvsd(dir);
  try {
    for (const s of streams) {
      if (await looksSeeded(server.url, s)) continue;
      missing.push(s);
      try {
        const d = await call<{ StreamInfo: { StreamARN: string } }>(server.url, 'describeStream', {
          StreamName: s.name,
        });
        await call(server.url, 'deleteStream', { StreamARN: d.StreamInfo.StreamARN });
      } catch (err) {
        if (!(err instanceof ApiCallError && err.type === 'ResourceNotFoundException')) throw err;
      }
      await createStream(server.url, s.name, RETENTION_HOURS);
    }
  } finally {
    await server.stop();
  }
  for (const s of missing) {
    log(`seeding ${s.name} with ${s.fragments.toLocaleString('en-US')} fragments into ${dir} (cached for later runs)`);
    const t = performance.now();
    const out = await run(
      process.execPath,
      [
        'dist/src/cli.js',
        'seed',
        '--data-dir',
        dir,
        '--stream',
        s.name,
        '--fragments',
        String(s.fragments),
        '--start',
        String(START_MS / 1000),
        '--interval-ms',
        String(INTERVAL_MS),
        '--frame-bytes',
        '1',
      ],
      {
        onStderrLine: (line) => {
          if (/^seeded \d+000000$/.test(line)) log(`  ${line}`);
        },
      },
    );
    const result = JSON.parse(out.trim().split('\n').pop()!) as { persisted: number; fragmentsPerSecond: number };
    log(
      `  ${s.name}: ${result.persisted.toLocaleString('en-US')} fragments in ${((performance.now() - t) / 1000).toFixed(1)} s (${result.fragmentsPerSecond.toLocaleString('en-US')}/s)`,
    );
  }
  server = await startKvsd(dir);
  try {
    for (const s of missing) {
      if (!(await looksSeeded(server.url, s)))
        throw new Error(`stream ${s.name} does not hold the expected fragments after seeding`);
      seeded.push(s.name);
    }
    if (emptyStreams > 0) {
      let created = 0;
      await pool(
        Array.from({ length: emptyStreams }, (_, i) => `mem-${String(i).padStart(4, '0')}`),
        16,
        async (name) => {
          if (await createStream(server.url, name, RETENTION_HOURS)) created++;
        },
      );
      if (created > 0) {
        log(`created ${created} empty streams`);
        seeded.push(`${created} empty streams`);
      }
    }
  } finally {
    await server.stop();
  }
  return { buildSeconds: seeded.length ? (performance.now() - started) / 1000 : 0, seeded };
}
