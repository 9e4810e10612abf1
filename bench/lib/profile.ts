/** Self time per function from a V8 .cpuprofile (what `node --cpu-prof` writes). */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from './proc.js';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface HotSpot {
  name: string;
  where: string;
  selfMs: number;
  selfPct: number;
  busyPct: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  spots: HotSpot[];
  /** kvsd's own functions by inclusive time (self + callees), % of busy time. */
  kvsdInclusive: { name: string; where: string; busyPct: number }[];
  /** Self time grouped by where the code lives (kvsd src, node internals, better-sqlite3, GC...). */
  areas: { area: string; busyPct: number }[];
}

function where(url: string, line: number): string {
  if (!url) return '';
  let path = url;
  if (url.startsWith('file://')) {
    try {
      path = relative(ROOT, fileURLToPath(url));
    } catch {
      /* keep url */
    }
  }
  return `${path}:${line + 1}`;
}

function area(name: string, url: string): string {
  if (name === '(garbage collector)') return 'GC';
  if (name === '(program)') return 'V8/native (program)';
  if (url.includes('/dist/src/') || url.includes('/src/')) {
    const m = /\/(?:dist\/)?src\/(.+?)\.js/.exec(url) ?? /\/src\/(.+?)\.ts/.exec(url);
    return `kvsd ${m ? m[1]!.split('/')[0] : 'src'}`;
  }
  if (url.includes('better-sqlite3')) return 'better-sqlite3';
  if (url.includes('node_modules')) return `dependency ${/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? ''}`;
  if (url.startsWith('node:')) return `node ${url.slice(5).split('/')[0]}`;
  if (!url) return name.startsWith('(') ? name : 'native/builtin';
  return 'other';
}

/** The main thread's profile: the biggest .cpuprofile in `dir` (a loader worker writes a small one). */
export function latestProfile(dir: string): string {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f));
  if (files.length === 0) throw new Error(`no .cpuprofile in ${dir}`);
  return files.sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
}

export function summarize(file: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    // The delta before sample i+1 is the time spent in sample i (V8's own convention).
    const dt = p.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, { name: string; where: string; us: number }>();
  const areas = new Map<string, number>();
  let idle = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    const name = functionName || '(anonymous)';
    const w = where(url, lineNumber);
    const key = `${name}@${w}`;
    const e = fn.get(key) ?? { name, where: w, us: 0 };
    e.us += us;
    fn.set(key, e);
    const a = area(name, url);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  const busy = total - idle;
  // Inclusive time of kvsd's functions: each sample counts once for every distinct kvsd frame on its stack.
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, { name: string; where: string; us: number }>();
  for (const [id, us] of selfUs) {
    if (byId.get(id)!.callFrame.functionName === '(idle)') continue;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const { functionName, url, lineNumber } = byId.get(cur)!.callFrame;
      if (!url.includes('/dist/src/')) continue;
      const name = functionName || '(anonymous)';
      const w = where(url, lineNumber);
      const key = `${name}@${w}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const e = inclusive.get(key) ?? { name, where: w, us: 0 };
      e.us += us;
      inclusive.set(key, e);
    }
  }
  const kvsdInclusive = [...inclusive.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((e) => ({ name: e.name, where: e.where, busyPct: (100 * e.us) / busy }));
  const spots = [...fn.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((e) => ({
      name: e.name,
      where: e.where,
      selfMs: e.us / 1000,
      selfPct: (100 * e.us) / total,
      busyPct: (100 * e.us) / busy,
    }));
  return {
    totalMs: total / 1000,
    idleMs: idle / 1000,
    spots,
    kvsdInclusive,
    areas: [...areas.entries()].sort((a, b) => b[1] - a[1]).map(([a, us]) => ({ area: a, busyPct: (100 * us) / busy })),
  };
}
