/**
 * Closed-loop HTTP load with autocannon (keep-alive connections, each sending its next request when the
 * previous answer arrived). autocannon's own latency histogram has 1 ms resolution, too coarse for
 * sub-millisecond answers, so every response time (fractional ms, from process.hrtime) is also kept here
 * and the percentiles are exact.
 */
import autocannon from 'autocannon';

export interface LoadSpec {
  url: string;
  /** Requests cycled through by every connection. */
  requests: { path: string; body: Buffer; headers: Record<string, string> }[];
  connections: number;
  seconds: number;
  warmupSeconds: number;
  /** Stops early after this many responses (a bound on count as well as time). */
  maxRequests?: number;
}

export interface LoadResult {
  ok: number;
  failed: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  /** Response bytes per second (headers and body). */
  bytesPerSec: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

function once(spec: LoadSpec, seconds: number, record: boolean): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    let lat = new Float64Array(1 << 16);
    let n = 0;
    let failed = 0;
    let bytes = 0;
    const max = spec.maxRequests ?? Infinity;
    const started = process.hrtime.bigint();
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration: seconds,
        timeout: 30,
        requests: spec.requests.map((r) => ({ method: 'POST', path: r.path, headers: r.headers, body: r.body })),
      },
      (err) => {
        if (err) return reject(err);
        const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
        const sorted = record ? lat.subarray(0, n).sort() : new Float64Array(0);
        resolve({
          ok: n,
          failed,
          seconds: elapsed,
          rps: n / elapsed,
          p50: percentile(sorted, 0.5),
          p99: percentile(sorted, 0.99),
          bytesPerSec: bytes / elapsed,
        });
      },
    );
    let stopped = false;
    instance.on('response', (_client, statusCode, resBytes, responseTime) => {
      if (statusCode < 200 || statusCode > 299) {
        failed++;
        return;
      }
      bytes += resBytes;
      if (record) {
        if (n === lat.length) {
          const bigger = new Float64Array(lat.length * 2);
          bigger.set(lat);
          lat = bigger;
        }
        lat[n] = responseTime;
      }
      n++;
      if (n >= max && !stopped) {
        stopped = true;
        instance.stop();
      }
    });
    instance.on('reqError', () => {
      failed++;
    });
  });
}

/** Warm-up (not recorded), then the measured run. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  if (spec.warmupSeconds > 0) await once(spec, spec.warmupSeconds, false);
  const result = await once(spec, spec.seconds, true);
  if (result.ok === 0) throw new Error(`no successful response from ${spec.url} (${result.failed} failed)`);
  return result;
}
