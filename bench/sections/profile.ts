/**
 * CPU profiles of the kvsd process (node --cpu-prof) under the ListFragments (MaxResults 100, biggest
 * stream) and PutMedia (100 producers) loads; the hot spots by self time go into the report.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Ctx } from '../lib/context.js';
import type { StreamSpec } from '../lib/dataset.js';
import { runLoad } from '../lib/load.js';
import { startKvsd } from '../lib/proc.js';
import { latestProfile, summarize, type ProfileSummary } from '../lib/profile.js';
import { fmt, mb } from '../lib/report.js';
import { CONNECTIONS, randomPageBody, rng, signedRequests } from './listFragments.js';
import { ingestRun } from './putMedia.js';

function record(ctx: Ctx, title: string, load: string, s: ProfileSummary) {
  const lines = s.spots.map((h) => [h.name, h.where, fmt(h.selfMs, 0), fmt(h.busyPct, 1)]);
  const notes = [
    `${load}. Profile: ${fmt(s.totalMs / 1000, 1)} s, of which idle ${fmt((100 * s.idleMs) / s.totalMs, 0)} %; percentages are of the busy (non-idle) time.`,
    `By area (self time): ${s.areas
      .slice(0, 10)
      .map((a) => `${a.area} ${fmt(a.busyPct, 1)} %`)
      .join(', ')}.`,
    `kvsd functions by inclusive time (self + callees): ${s.kvsdInclusive
      .slice(0, 10)
      .map((k) => `${k.name} (${k.where}) ${fmt(k.busyPct, 1)} %`)
      .join(', ')}.`,
  ];
  ctx.report.profiles.push({ title, lines, notes });
  ctx.log(`  ${title}`);
  for (const l of lines.slice(0, 10)) ctx.log(`    ${l[3]!.padStart(5)} %  ${l[0]}  ${l[1]}`);
  for (const n of notes) ctx.log(`    ${n}`);
}

export async function profileList(ctx: Ctx, dataDir: string, stream: StreamSpec) {
  const profDir = join(ctx.workDir, 'prof-list');
  rmSync(profDir, { recursive: true, force: true });
  mkdirSync(profDir, { recursive: true });
  const server = await startKvsd(dataDir, { cpuProfDir: profDir });
  const seconds = 8;
  let res: Awaited<ReturnType<typeof runLoad>>;
  try {
    const r = rng(99);
    const bodies = Array.from({ length: 500 }, () => randomPageBody(stream, 100, r));
    res = await runLoad({
      url: server.url,
      requests: await signedRequests(server.url, bodies),
      connections: CONNECTIONS,
      seconds,
      warmupSeconds: 1,
    });
  } finally {
    await server.stop();
  }
  record(
    ctx,
    `kvsd CPU profile: ListFragments MaxResults 100 on ${stream.name}`,
    `${CONNECTIONS} connections, ${seconds} s, ${fmt(res.rps)} req/s under the profiler`,
    summarize(latestProfile(profDir)),
  );
}

export async function profilePut(ctx: Ctx) {
  const profDir = join(ctx.workDir, 'prof-put');
  rmSync(profDir, { recursive: true, force: true });
  mkdirSync(profDir, { recursive: true });
  const producers = 100;
  const seconds = 8;
  const { result } = await ingestRun(ctx, producers, seconds, 1, { cpuProfDir: profDir });
  record(
    ctx,
    `kvsd CPU profile: PutMedia, ${producers} producers`,
    `${seconds} s, ${fmt(mb(result.windowBytes / result.windowSeconds))} MB/s under the profiler`,
    summarize(latestProfile(profDir)),
  );
}
