/**
 * Helpers of the ingest reliability tests: producers that reconnect after their session ends (as the
 * KVS producer SDKs do), the bytes they sent per cluster timecode, and reading every PERSISTED fragment
 * back through GetMediaForFragmentList to compare it, byte for byte, with what was sent.
 */
import assert from 'node:assert/strict';
import { craftCluster, craftHeader, frames, sendWithClient, type Ack } from '../helpers/putMedia.js';
import { fragmentList, parseDocuments } from '../helpers/readers.js';
import { sleep } from '../helpers/time.js';

export interface SessionLog {
  acks: Ack[];
  error?: unknown;
}

export interface Producer {
  stream: string;
  /** Every cluster sent, by its (ABSOLUTE, epoch ms) timecode: unique across the producer's sessions. */
  sent: Map<number, Buffer>;
  sessions: SessionLog[];
}

export interface ProducerOptions {
  url: string;
  stream: string;
  /** First cluster timecode (epoch ms); cluster i is at start + i s. */
  startMs: number;
  /** Bytes per frame; each cluster has `framesPerCluster` frames 40 ms apart. */
  frameBytes: number;
  framesPerCluster: number;
  paceMs: number;
  /** Checked before every cluster: the producer stops (and reconnects no more) once it says so. */
  stop: () => boolean;
  onAck?: (ack: Ack, producer: Producer) => void;
  /** At most this many clusters per session (default: unbounded). */
  clustersPerSession?: number;
  /**
   * Send the clusters as a byte stream cut into chunks of this size (as a camera's TCP writes are), so that
   * one chunk holds the end of a cluster and the start of the next; the pause is then after each chunk.
   * Default: one chunk per cluster.
   */
  chunkBytes?: number;
}

/**
 * A producer that sends ABSOLUTE clusters, one every `paceMs`, and reconnects with a new session whenever
 * kvsd ends one (the response ends), until `stop()`. Resolves when it stopped and its last session ended.
 */
export function runProducer(opts: ProducerOptions): { producer: Producer; done: Promise<void> } {
  const producer: Producer = { stream: opts.stream, sent: new Map(), sessions: [] };
  let next = 0;
  const done = (async () => {
    while (!opts.stop()) {
      const log: SessionLog = { acks: [] };
      producer.sessions.push(log);
      let ended = false;
      let inSession = 0;
      const chunkBytes = opts.chunkBytes ?? 0;
      async function* body() {
        let pending = craftHeader(1);
        while (!opts.stop() && !ended && inSession < (opts.clustersPerSession ?? Infinity)) {
          const timecode = opts.startMs + 1000 * next++;
          inSession++;
          const bytes = craftCluster({
            timecode,
            frames: frames({ count: opts.framesPerCluster, size: opts.frameBytes }),
          });
          producer.sent.set(timecode, bytes);
          pending = Buffer.concat([pending, bytes]);
          while (pending.length > chunkBytes) {
            const n = chunkBytes > 0 ? chunkBytes : pending.length;
            yield pending.subarray(0, n);
            pending = pending.subarray(n);
            await sleep(opts.paceMs);
          }
        }
        if (pending.length > 0) yield pending;
      }
      const run = await sendWithClient(
        opts.url,
        { streamName: opts.stream, timecodeType: 'ABSOLUTE', body: body() },
        (ack) => {
          // An ERROR does not stop the producer: it goes on sending until kvsd ends the session.
          log.acks.push(ack);
          opts.onAck?.(ack, producer);
        },
      );
      ended = true;
      if (run.error !== undefined) log.error = run.error;
      if (opts.clustersPerSession !== undefined) return;
    }
  })();
  return { producer, done };
}

export const persistedOf = (p: Producer) =>
  p.sessions.flatMap((s) => s.acks.filter((a) => a.EventType === 'PERSISTED'));

/**
 * Reads every PERSISTED fragment back with GetMediaForFragmentList (one per request, so that a corrupt
 * one cannot hide others) and compares its Cluster with the bytes sent. Returns what did not match.
 */
export async function corruptFragments(url: string, p: Producer): Promise<string[]> {
  const bad: string[] = [];
  const persisted = persistedOf(p);
  const work = [...persisted];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let ack = work.shift(); ack; ack = work.shift()) {
        const sent = p.sent.get(ack.FragmentTimecode!);
        assert.ok(sent, `PERSISTED ${ack.FragmentNumber} names a cluster that was sent (${ack.FragmentTimecode})`);
        try {
          const { bytes } = await fragmentList(url, { StreamName: p.stream, Fragments: [ack.FragmentNumber!] });
          const docs = parseDocuments(bytes);
          if (docs.length !== 1 || !docs[0]!.cluster?.equals(sent))
            bad.push(`${ack.FragmentNumber} (${describeMismatch(docs[0]?.cluster, sent)})`);
        } catch (err) {
          bad.push(`${ack.FragmentNumber} (unreadable: ${String(err).slice(0, 200)})`);
        }
      }
    }),
  );
  return bad;
}

function describeMismatch(got: Buffer | undefined, sent: Buffer): string {
  if (!got) return 'no Cluster';
  if (got.length !== sent.length) return `${got.length} bytes, sent ${sent.length}`;
  let zeros = 0;
  for (let i = 0; i < got.length; i++) if (got[i] !== sent[i] && got[i] === 0) zeros++;
  return `same size, ${zeros} bytes zeroed`;
}
