/**
 * `npm run bench [-- options]`: how fast kvsd is, against ceilings measured on the same machine in the same
 * run. Loopback only; every load is bounded in time (and count). kvsd runs as its own process
 * (node dist/src/cli.js serve), built first with `npm run build`.
 *
 *   --quick        small sizes and short loads (about a minute; what CI runs)
 *   --profile      also profile in a quick run (a full run always profiles); --no-profile skips it
 *   --only LIST    comma-separated sections: list,paginator,memory,put,getmedia,profile
 *   --no-build     skip `npm run build`
 *   --out FILE     where the Markdown report goes (full run: docs/benchmarks.md; quick: .tmp/benchmarks-quick.md;
 *                  --only: .tmp/benchmarks-partial.md). Text below the "kept" marker of an existing file is kept.
 *
 * Exit code 0 unless the bench itself (or kvsd) broke: targets are printed, never enforced.
 */
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { closeAgent } from './lib/api.js';
import type { Ctx } from './lib/context.js';
import { sleep } from './lib/context.js';
import { ensureDataset, type StreamSpec } from './lib/dataset.js';
import { describeMachine } from './lib/machine.js';
import { NoiseMeter } from './lib/noise.js';
import { ROOT, run, startKvsd, type Proc } from './lib/proc.js';
import { Report, consoleTable, markdownTable } from './lib/report.js';
import { benchListFragments } from './sections/listFragments.js';
import { benchPaginator } from './sections/paginator.js';
import { benchMemory } from './sections/memory.js';
import { benchPutMedia } from './sections/putMedia.js';
import { benchGetMedia } from './sections/getMedia.js';
import { profileList, profilePut } from './sections/profile.js';

const SECTIONS = ['list', 'paginator', 'memory', 'put', 'getmedia', 'profile'] as const;
type Section = (typeof SECTIONS)[number];
const KEPT_MARKER = '<!-- Everything below this line is kept by `npm run bench` when it rewrites this file. -->';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean' },
    'no-profile': { type: 'boolean', default: false },
    only: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const quick = values.quick!;
const only = new Set<Section>(values.only ? values.only.split(',').map((s) => s.trim() as Section) : SECTIONS);
for (const s of only)
  if (!SECTIONS.includes(s)) throw new Error(`unknown section '${s}' (known: ${SECTIONS.join(', ')})`);
if (values['no-profile'] || (quick && !values.profile && !values.only)) only.delete('profile');
// Only a full run of every section replaces docs/benchmarks.md by default.
const outFile = resolve(
  ROOT,
  values.out ??
    (quick ? '.tmp/benchmarks-quick.md' : values.only ? '.tmp/benchmarks-partial.md' : 'docs/benchmarks.md'),
);

const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
const log = (line: string) => console.log(line);
const report = new Report();
const failures: string[] = [];
const cacheDir = join(ROOT, '.tmp/bench-cache');
const workDir = join(ROOT, `.tmp/bench-work-${process.pid}`);
mkdirSync(cacheDir, { recursive: true });
mkdirSync(workDir, { recursive: true });
const ctx: Ctx = { quick, report, workDir, cacheDir, log };

const E = (n: number) => `1e${Math.round(Math.log10(n))}`;
const streams: StreamSpec[] = (quick ? [1e4, 1e5] : [1e4, 1e6, 1e7]).map((n) => ({
  name: `list-${E(n)}`,
  fragments: n,
}));
const EMPTY_STREAMS = 1000;
const dataDir = join(cacheDir, quick ? 'list-quick' : 'list-full');

const meter = new NoiseMeter();

async function section(name: Section, title: string, fn: () => Promise<void>) {
  if (!only.has(name)) return;
  log(`\n== ${title} [${elapsed()}]`);
  meter.lap();
  const t = performance.now();
  try {
    await fn();
  } catch (err) {
    const msg = err instanceof Error ? (err.stack ?? err.message) : String(err);
    failures.push(`${title}: ${msg.split('\n')[0]}`);
    log(`  FAILED: ${msg}`);
  }
  const cores = meter.lap();
  report.noise.push({ section: title, cores, seconds: (performance.now() - t) / 1000 });
  log(
    `  (${((performance.now() - t) / 1000).toFixed(0)} s; other processes on the machine used ${cores.toFixed(2)} cores meanwhile)`,
  );
}

/** Reads the catalog once so that every run measures a warm page cache (it fits in RAM). */
async function warmCatalog(dir: string) {
  for (const f of ['catalog.sqlite', 'catalog.sqlite-wal']) {
    const p = join(dir, f);
    if (!existsSync(p)) continue;
    await new Promise<void>((res, rej) =>
      createReadStream(p, { highWaterMark: 4 << 20 })
        .on('data', () => {})
        .on('end', res)
        .on('error', rej),
    );
  }
}

async function main() {
  log(`kvsd benchmark (${quick ? 'quick' : 'full'} run), sections: ${[...only].join(', ')}`);
  if (!values['no-build']) {
    log('building (npm run build)...');
    await run('npm', ['run', 'build', '--silent']);
  } else if (!existsSync(join(ROOT, 'dist/src/cli.js'))) {
    throw new Error('dist/src/cli.js is missing: run npm run build first, or drop --no-build');
  }
  const sqlite = (new Database(':memory:').prepare('select sqlite_version() AS v').get() as { v: string }).v;
  const machine = describeMachine(ROOT, `SQLite ${sqlite} (better-sqlite3)`);
  log(
    `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.disk}, Node ${machine.node}`,
  );

  let seedNote = '';
  const needsList = ['list', 'paginator', 'memory', 'profile'].some((s) => only.has(s as Section));
  if (needsList) {
    log(
      `\n== listing data set: ${streams.map((s) => `${s.name} (${s.fragments.toLocaleString('en-US')})`).join(', ')} + ${EMPTY_STREAMS} empty streams in ${relative(ROOT, dataDir)}`,
    );
    const ds = await ensureDataset(dataDir, streams, EMPTY_STREAMS, log);
    seedNote =
      ds.buildSeconds > 0
        ? `built in ${ds.buildSeconds.toFixed(0)} s (${ds.seeded.join(', ')})`
        : 'reused from the cache';
    log(`  data set ${seedNote} [${elapsed()}]`);
    await warmCatalog(dataDir);
  }

  if (['list', 'paginator', 'memory'].some((s) => only.has(s as Section))) {
    let server: Proc | undefined;
    try {
      server = await startKvsd(dataDir);
      await sleep(500);
      const rssAtStart = server.rss();
      await section('list', '1. ListFragments', async () => {
        await benchListFragments(ctx, server!, streams);
      });
      await section('paginator', '2. SDK paginator full listing', () =>
        benchPaginator(ctx, server!, streams[streams.length - 1]!),
      );
      const big = streams[streams.length - 1]!;
      await section('memory', '5. Server memory', () =>
        benchMemory(
          ctx,
          server!,
          rssAtStart,
          `${EMPTY_STREAMS + streams.length} streams, ${big.fragments.toLocaleString('en-US')} fragments in the biggest (${streams.reduce((a, s) => a + s.fragments, 0).toLocaleString('en-US')} in all)`,
          EMPTY_STREAMS,
        ),
      );
    } finally {
      await server?.stop();
    }
  }
  await section('put', '3. PutMedia ingest', () => benchPutMedia(ctx));
  await section('getmedia', '4. GetMediaForFragmentList', () => benchGetMedia(ctx));
  await section('profile', 'CPU profiles of the kvsd process', async () => {
    await profileList(ctx, dataDir, streams[streams.length - 1]!);
    await profilePut(ctx);
  });

  const total = (performance.now() - started) / 1000;
  log(`\n================ results (${quick ? 'quick' : 'full'} run, ${total.toFixed(0)} s) ================`);
  for (const t of report.tables) log(consoleTable(t));
  log('\nTargets');
  for (const t of report.targets)
    log(`  ${t.met === undefined ? 'n/a    ' : t.met ? 'MET    ' : 'NOT MET'}  ${t.name}: ${t.value} (goal ${t.goal})`);
  for (const s of report.skipped) log(`  skipped: ${s}`);
  for (const f of failures) log(`  FAILED: ${f}`);
  log(
    `\nOther processes' CPU use per section: ${report.noise.map((n) => `${n.section}: ${n.cores.toFixed(2)} cores`).join('; ')}`,
  );

  writeMarkdown(machine, total, seedNote);
  log(`\nreport written to ${relative(ROOT, outFile)}`);
}

function writeMarkdown(machine: ReturnType<typeof describeMachine>, totalSeconds: number, seedNote: string) {
  const kept = existsSync(outFile) ? readFileSync(outFile, 'utf8').split(KEPT_MARKER)[1] : undefined;
  const md: string[] = [];
  md.push(
    '# kvsd benchmarks',
    '',
    `Generated by \`npm run bench${quick ? ' -- --quick' : ''}\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: ${quick ? 'quick' : 'full'} run, ${Math.round(totalSeconds)} s` +
      `${seedNote ? `; listing data set ${seedNote}` : ''}. Every figure is compared with a ceiling measured in the same run on the same machine.`,
    '',
    '## Machine',
    '',
    markdownTable(
      ['', ''],
      [
        ['CPU', machine.cpu],
        ['cores', String(machine.cores)],
        ['memory', `${machine.memoryGiB} GiB`],
        ['disk', machine.disk],
        ['Node', machine.node],
        ['kernel', machine.kernel],
        ['catalog', machine.sqlite],
      ],
    ),
    '',
    'kvsd runs as its own process (`node dist/src/cli.js serve --port 0 --quiet`), the ceilings in their own processes too; the load generators ' +
      '(autocannon 9 for JSON calls, raw node:http producers for PutMedia, the JS SDK for the paginator) run in the bench process. ' +
      "All traffic is on 127.0.0.1, and load generator and server share the machine's cores, as they would on a small box.",
    '',
    `CPU used by other processes on the machine during each section (anything above ~0.1 core skews the figures): ${report.noise.map((n) => `${n.section} ${n.cores.toFixed(2)} cores (${n.seconds.toFixed(0)} s)`).join('; ')}.`,
    '',
    '## Targets',
    '',
    markdownTable(
      ['target', 'measured', 'goal', 'met'],
      report.targets.map((t) => [t.name, t.value, t.goal, t.met === undefined ? 'n/a' : t.met ? 'yes' : '**no**']),
    ),
    '',
  );
  for (const t of report.tables) {
    md.push(`## ${t.title}`, '', markdownTable(t.columns, t.rows), '');
    for (const n of t.notes) md.push(`- ${n}`);
    md.push('');
  }
  for (const s of report.skipped) md.push(`## Skipped`, '', `- ${s}`, '');
  if (failures.length) md.push('## Failures', '', ...failures.map((f) => `- ${f}`), '');
  if (report.profiles.length) {
    md.push('## CPU profile hot spots (kvsd process, self time)', '');
    for (const p of report.profiles) {
      md.push(
        `### ${p.title}`,
        '',
        ...p.notes.map((n) => `- ${n}`),
        '',
        markdownTable(['function', 'where', 'self ms', '% of busy'], p.lines),
        '',
      );
    }
  }
  md.push(
    '## How it is measured',
    '',
    '- Run: `npm run bench` (full, writes this file) or `npm run bench -- --quick` (CI; writes `.tmp/benchmarks-quick.md`). Options: `--only list,paginator,memory,put,getmedia,profile` (writes `.tmp/benchmarks-partial.md`), `--no-build`, `--profile`, `--no-profile`, `--out FILE`. Exit code 0 unless the bench or kvsd broke; targets are reported, not enforced.',
    "- Listing data set: streams seeded with `kvsd seed` (the real ingest session, one fragment per second of producer time) into one data directory cached under `.tmp/bench-cache/`; a rerun checks each stream's first and last fragment through the API and reseeds only what is wrong. Streams are created with a 10-year retention so that the cache does not expire. The catalog file is read once before the loads (warm page cache).",
    '- ListFragments: 50 keep-alive connections (autocannon), each cycling through 500 signed requests for random ranges that hold more than MaxResults fragments. Percentiles are exact, from every response time.',
    '- PutMedia: every level starts a fresh kvsd on an empty data directory, creates the streams through the API, and removes the directory afterwards. Sending stops after the time bound (or a byte cap); the last acks are then awaited.',
    '- Memory: VmRSS and VmHWM of the kvsd process from /proc/PID/status.',
    '- Profiles: `node --cpu-prof` on the kvsd process; self time per function, aggregated by function and source line.',
    '',
  );
  md.push(KEPT_MARKER + (kept ?? '\n'));
  mkdirSync(resolve(outFile, '..'), { recursive: true });
  writeFileSync(outFile, md.join('\n'));
}

main()
  .catch((err: unknown) => {
    failures.push(String(err));
    console.error(err);
  })
  .finally(() => {
    closeAgent();
    rmSync(workDir, { recursive: true, force: true });
    process.exit(failures.length ? 1 : 0);
  });
