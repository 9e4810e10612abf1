/** What every benchmark section gets. */
import type { Report } from './report.js';

export interface Ctx {
  quick: boolean;
  report: Report;
  /** Scratch space for this run (data dirs of ingest runs, page files); removed at the end. */
  workDir: string;
  /** Kept between runs: the seeded listing data set. */
  cacheDir: string;
  log(line: string): void;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
