/**
 * 5. Server memory (VmRSS / VmHWM from /proc/PID/status) of the kvsd process serving the listing data
 * set: the seeded streams (the biggest of 10^7 fragments in the full run) plus 1,000 more streams.
 * Measured right after start, after the ListFragments loads, and after one DescribeStream and one
 * ListFragments on every one of the 1,000 streams.
 */
import { call, pool, producerRange } from '../lib/api.js';
import type { Ctx } from '../lib/context.js';
import type { Proc } from '../lib/proc.js';
import { fmt } from '../lib/report.js';

export const MEMORY_TARGET_MB = 300;

export async function benchMemory(
  ctx: Ctx,
  server: Proc,
  rssAtStart: number,
  description: string,
  emptyStreams: number,
) {
  const afterLoads = server.rss();
  const names = Array.from({ length: emptyStreams }, (_, i) => `mem-${String(i).padStart(4, '0')}`);
  await pool(names, 16, async (name) => {
    await call(server.url, 'describeStream', { StreamName: name });
    await call(server.url, 'listFragments', {
      StreamName: name,
      FragmentSelector: producerRange(0, 4_000_000_000_000),
    });
  });
  const afterStreams = server.rss();
  const peak = server.peakRss();
  const MB = (b: number) => fmt(b / 2 ** 20, 0);
  const t = ctx.report.table(`5. kvsd server memory: ${description}`, ['moment', 'RSS MB']);
  t.rows.push(
    ['right after start', MB(rssAtStart)],
    ['after the ListFragments and paginator loads', MB(afterLoads)],
    [`after DescribeStream + ListFragments on each of the ${emptyStreams} streams`, MB(afterStreams)],
    ['peak (VmHWM) over all of the above', MB(peak)],
  );
  t.notes.push(`Target: peak under ${MEMORY_TARGET_MB} MB.`);
  for (const r of t.rows) ctx.log(`  ${r.join(': ')}`);
  ctx.report.target(
    `kvsd peak RSS with ${description}`,
    `${MB(peak)} MB`,
    `< ${MEMORY_TARGET_MB} MB`,
    peak / 2 ** 20 < MEMORY_TARGET_MB,
  );
}
