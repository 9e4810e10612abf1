/**
 * Giving memory back after the live buffer let go of a lot of it. Buffers are freed only when V8 collects
 * garbage, and V8 collects only when JavaScript allocates: an idle kvsd (the age limit dropped the
 * fragments of streams nobody writes any more) would keep hundreds of MB resident until the next traffic.
 * So, after large releases, a full collection is asked for, at most once per interval. `gc` is not
 * exposed by default; V8 exposes it to a new context once the flag is set at run time.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | undefined;
function collector(): () => void {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  return collect;
}

/** Collects once `released` bytes have been let go of since the last collection, at most every `minIntervalMs`. */
export class MemoryReleaser {
  private pending = 0;
  private lastMs = 0;

  constructor(
    private readonly thresholdBytes: number,
    private readonly minIntervalMs = 5_000,
  ) {}

  released(bytes: number, now = Date.now()) {
    this.pending += Math.max(0, bytes);
    if (this.pending < this.thresholdBytes || now - this.lastMs < this.minIntervalMs) return;
    this.pending = 0;
    this.lastMs = now;
    collector()();
  }
}
