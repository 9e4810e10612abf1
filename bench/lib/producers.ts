/**
 * PutMedia producers over raw node:http (one connection each), so that the moment a cluster's last byte
 * is handed to the kernel is known exactly (the write callback): the ack latency runs from there to the
 * PERSISTED acknowledgement. Each producer keeps at most `window` fragments sent but not yet PERSISTED,
 * like a producer SDK's content buffer; media is replayed faster than real time, so a producer sends its
 * next cluster as soon as the window allows.
 *
 * Against the HTTP sink (mode 'sink') there are no acknowledgements: the producers send as fast as TCP
 * lets them, and the sink counts what it received.
 */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { EMPTY_SHA256 } from '../../src/protocol/sha256.js';
import { signedHeaders } from './api.js';
import { CLUSTER_BODY, CLUSTER_BYTES, FRAGMENT_MS, clusterPrefix, mkvHeader } from './mkv.js';

export interface ProducerSpec {
  base: string;
  streams: string[];
  mode: 'kvsd' | 'sink';
  /** Sending stops this long after the start; acks are awaited after that. */
  seconds: number;
  /** Throughput and latencies are taken from acks in [start + warmup, start + seconds]. */
  warmupSeconds: number;
  /** Max fragments sent but not PERSISTED, per producer (kvsd mode). */
  window: number;
  /** No producer starts a new cluster once this many bytes were sent in all. */
  maxBytes: number;
  /** How long to wait for the last acks after sending stopped. */
  drainTimeoutMs?: number;
  /** Sink mode: the sink's (epoch ms, bytes received so far) samples. */
  sinkSamples?: () => Promise<[number, number][]>;
}

export interface ProducerResult {
  /** Fragments and bytes PERSISTED inside the measurement window. */
  windowFragments: number;
  windowBytes: number;
  windowSeconds: number;
  /** ms from a cluster's last byte written to its PERSISTED ack, for acks inside the window (sorted). */
  latencies: Float64Array;
  sentFragments: number;
  persistedFragments: number;
  errors: string[];
  /** Wall time from the first request to the last ack. */
  totalSeconds: number;
  /** Sink mode: bytes the sink received inside the window. */
  sinkWindowBytes?: number;
  /** Where the producers were when sending stopped (not errors). */
  diagnostics: string[];
}

const BASE_TIMECODE = 1_700_000_000_000;
const HEADER = mkvHeader();

export async function runProducers(spec: ProducerSpec): Promise<ProducerResult> {
  let sentBytes = 0;
  let sentFragments = 0;
  let persisted = 0;
  let windowFragments = 0;
  let lat = new Float64Array(1 << 14);
  let nLat = 0;
  const errors: string[] = [];
  const diagnostics: string[] = [];
  const headersFor = async (stream: string) =>
    signedHeaders(
      spec.base,
      '/putMedia',
      {
        'content-type': 'application/octet-stream',
        'transfer-encoding': 'chunked',
        'x-amzn-stream-name': stream,
        'x-amzn-fragment-timecode-type': 'ABSOLUTE',
        'user-agent': 'kvsd-bench-producer',
      },
      EMPTY_SHA256,
    );
  const allHeaders = await Promise.all(spec.streams.map(headersFor));
  const t0 = performance.now();
  const windowStart = t0 + spec.warmupSeconds * 1000;
  const deadline = t0 + spec.seconds * 1000;
  let lastAck = t0;
  // Every wait ends at the deadline at the latest: a stalled server cannot hang the bench.
  let deadlineTimer: NodeJS.Timeout | undefined;
  const deadlinePassed = new Promise<void>((r) => {
    deadlineTimer = setTimeout(r, spec.seconds * 1000);
  });
  let noResponse = 0;
  let waitingForAcks = 0;
  let waitingForDrain = 0;

  async function producer(index: number): Promise<void> {
    const sentAt: number[] = [];
    let acked = 0;
    let wake: (() => void) | undefined;
    let failed = false;
    const req: ClientRequest = request(new URL('/putMedia', spec.base), {
      method: 'POST',
      headers: allHeaders[index]!,
      agent: false,
    });
    let gotResponse = false;
    const responded = new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', (res) => {
        gotResponse = true;
        resolve(res);
      });
      req.once('error', reject);
    });
    const ended = responded.then(
      (res) =>
        new Promise<void>((resolve, reject) => {
          if (res.statusCode !== 200) {
            failed = true;
            errors.push(`${spec.streams[index]}: HTTP ${res.statusCode}`);
          }
          let pending = '';
          res.setEncoding('utf8');
          res.on('data', (s: string) => {
            if (spec.mode === 'sink') return;
            pending += s;
            let nl: number;
            while ((nl = pending.indexOf('\n')) >= 0) {
              const line = pending.slice(0, nl);
              pending = pending.slice(nl + 1);
              if (line.includes('"PERSISTED"')) {
                const now = performance.now();
                const tc = Number(/"FragmentTimecode":(\d+)/.exec(line)![1]);
                const k = (tc - BASE_TIMECODE) / FRAGMENT_MS;
                acked++;
                persisted++;
                lastAck = now;
                if (now >= windowStart && now <= deadline) {
                  windowFragments++;
                  if (nLat === lat.length) {
                    const b = new Float64Array(lat.length * 2);
                    b.set(lat);
                    lat = b;
                  }
                  lat[nLat++] = now - sentAt[k]!;
                }
              } else if (line.includes('"ERROR"')) {
                acked++;
                if (errors.length < 20) errors.push(`${spec.streams[index]}: ${line}`);
              }
              wake?.();
            }
          });
          res.on('end', resolve);
          res.on('error', reject);
        }),
    );
    ended
      .catch(() => undefined)
      .finally(() => {
        failed = true;
        wake?.();
      });

    req.write(HEADER);
    let k = 0;
    while (!failed && performance.now() < deadline && sentBytes < spec.maxBytes) {
      if (spec.mode === 'kvsd') {
        while (!failed && k - acked >= spec.window && performance.now() < deadline) {
          await Promise.race([
            new Promise<void>((r) => {
              wake = r;
            }),
            deadlinePassed,
          ]);
        }
        wake = undefined;
        if (failed) break;
        if (performance.now() >= deadline) {
          if (k - acked >= spec.window) waitingForAcks++;
          break;
        }
      }
      const idx = k++;
      sentBytes += CLUSTER_BYTES;
      sentFragments++;
      req.write(clusterPrefix(BASE_TIMECODE + idx * FRAGMENT_MS));
      const flushed = req.write(CLUSTER_BODY, () => {
        sentAt[idx] = performance.now();
      });
      if (!flushed) {
        await Promise.race([new Promise<void>((r) => req.once('drain', r)), deadlinePassed]);
        if (performance.now() >= deadline && req.writableNeedDrain) waitingForDrain++;
      }
    }
    if (!gotResponse) noResponse++;
    req.end();
    const timeout = spec.drainTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      ended.catch((err: Error) => {
        errors.push(`${spec.streams[index]}: ${err.message}`);
      }),
      new Promise<void>((r) => {
        timer = setTimeout(() => {
          errors.push(`${spec.streams[index]}: no end of response ${timeout} ms after the body ended`);
          req.destroy();
          r();
        }, timeout);
      }),
    ]);
    clearTimeout(timer);
  }

  await Promise.all(spec.streams.map((_, i) => producer(i)));
  clearTimeout(deadlineTimer);
  // Diagnostics for kvsd (the sink answers only when a body ends, and is always saturated).
  if (spec.mode === 'kvsd') {
    if (noResponse) errors.unshift(`${noResponse} producers had no response headers when they stopped sending`);
    if (waitingForAcks)
      diagnostics.push(
        `${waitingForAcks} of ${spec.streams.length} producers were waiting for acks (window full) at the deadline`,
      );
    if (waitingForDrain)
      diagnostics.push(
        `${waitingForDrain} of ${spec.streams.length} producers were blocked by TCP backpressure at the deadline`,
      );
  }
  const windowEnd = Math.min(deadline, performance.now());
  let sinkWindowBytes: number | undefined;
  if (spec.sinkSamples) {
    // The sink counted the bytes; read its counter at both ends of the window (same clock: epoch ms).
    const samples = await spec.sinkSamples();
    const at = (t: number) => interpolate(samples, performance.timeOrigin + t);
    sinkWindowBytes = at(windowEnd) - at(windowStart);
  }
  return {
    windowFragments,
    windowBytes: windowFragments * CLUSTER_BYTES,
    windowSeconds: (windowEnd - windowStart) / 1000,
    latencies: lat.subarray(0, nLat).sort(),
    sentFragments,
    persistedFragments: persisted,
    errors,
    diagnostics,
    totalSeconds: (lastAck - t0) / 1000,
    ...(sinkWindowBytes !== undefined && { sinkWindowBytes }),
  };
}

function interpolate(samples: [number, number][], t: number): number {
  if (samples.length === 0) return NaN;
  if (t <= samples[0]![0]) return samples[0]![1];
  for (let i = 1; i < samples.length; i++) {
    const [t1, b1] = samples[i]!;
    if (t1 >= t) {
      const [t0, b0] = samples[i - 1]!;
      return b0 + ((b1 - b0) * (t - t0)) / (t1 - t0 || 1);
    }
  }
  return samples[samples.length - 1]![1];
}

export function pct(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}
