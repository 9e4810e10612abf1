/**
 * The rate limiter behind request quotas (src/auth/quotas.ts) and upload throttling (limits.ts): a
 * toolkit piece with no policy of its own, so protocol code can use it without importing auth.
 */

/** A token bucket: `capacity` tokens, refilled at `rate` per second. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    readonly rate: number,
    readonly capacity: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = capacity;
    this.last = now();
  }
  private refill() {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
  }
  /** Takes n tokens if there are n. */
  tryTake(n = 1): boolean {
    this.refill();
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
  peek(): number {
    this.refill();
    return this.tokens;
  }
  /** Takes n tokens, going into debt if need be; returns how long (ms) until the debt is paid. */
  consume(n: number): number {
    this.refill();
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.rate) * 1000);
  }
  get full(): boolean {
    this.refill();
    return this.tokens >= this.capacity;
  }
}
