/**
 * Shared helpers of the PutMedia tests: real MKV with epoch timecodes, a crafted-MKV builder, PutMedia
 * over the real client and over raw node:http (crafted chunking, bad headers), checking acks. What kvsd
 * stored is read by storedState.ts.
 */
// needs: ffmpeg, gstreamer, mkvtoolnix
import { readFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import assert from 'node:assert/strict';
import { ID, UNKNOWN_SIZE_SEGMENT_HEADER, element, encodeId, stringElement, uintElement } from '../../src/mkv/index.js';
import { PutMediaClient, type PutMediaAck, type PutMediaInput } from '../../src/client/putMediaClient.js';
import { cached, mkvinfoClusters } from './media.js';
import { TEST_CREDENTIALS } from './sdk.js';
import { sleep } from './time.js';

export type Ack = PutMediaAck;

// ---------------------------------------------------------------------------------------------------
// Real MKV whose cluster timecodes are epoch milliseconds (what ABSOLUTE producers send)

/** ffmpeg (known-size clusters with CRC-32), 10 s at 25 fps, cluster timecodes = startMs + media time. */
export function ffmpegEpochMkvFile(startMs: number): Promise<string> {
  return cached('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=640x360:rate=25',
    '-t',
    '10',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-tune',
    'zerolatency',
    '-pix_fmt',
    'yuv420p',
    '-g',
    '50',
    '-keyint_min',
    '50',
    '-sc_threshold',
    '0',
    '-output_ts_offset',
    (startMs / 1000).toFixed(3),
    '-f',
    'matroska',
    '-live',
    '1',
    '-cluster_time_limit',
    '10000',
    '-cluster_size_limit',
    '100000000',
    '-',
  ]);
}

/** GStreamer matroskamux streamable=true (unknown-size clusters), 250 frames, timecodes = startMs + media time. */
export function gstEpochMkvFile(startMs: number): Promise<string> {
  return cached('gst-launch-1.0', [
    '-q',
    'videotestsrc',
    'num-buffers=250',
    'pattern=ball',
    `timestamp-offset=${BigInt(startMs) * 1_000_000n}`,
    '!',
    'video/x-raw,width=640,height=360,framerate=25/1',
    '!',
    'x264enc',
    'key-int-max=50',
    'tune=zerolatency',
    'speed-preset=veryfast',
    'bitrate=500',
    'option-string=scenecut=0:min-keyint=50',
    '!',
    'video/x-h264,stream-format=avc,alignment=au,profile=baseline',
    '!',
    'matroskamux',
    'streamable=true',
    '!',
    'fdsink',
    'fd=1',
  ]);
}

/**
 * One cluster of an input file as mkvinfo sees it, with its exact bytes and the time span of its frames
 * (what ListFragments must report for the fragment made of it).
 */
export interface TimedCluster {
  offset: number;
  size: number;
  /** Raw Cluster Timecode in ms (TimecodeScale 1 ms in every file used here). */
  timecode: number;
  firstFrameMs: number;
  lastFrameMs: number;
  frames: number;
  bytes: Buffer;
}

/**
 * The clusters of a file, from mkvinfo (the oracle): an unknown-size cluster runs to the next cluster or the
 * end of the file (neither muxer writes anything between or after clusters in live mode; checked below).
 */
export async function clustersOf(file: string): Promise<{ input: Buffer; clusters: TimedCluster[] }> {
  const input = readFileSync(file);
  const infos = await mkvinfoClusters(file);
  assert.ok(infos.length > 0, `mkvinfo found no cluster in ${file}`);
  const clusters = infos.map((c, i) => {
    const end = c.size !== undefined ? c.offset + c.size : (infos[i + 1]?.offset ?? input.length);
    if (c.size !== undefined && i === infos.length - 1) assert.equal(end, input.length, 'data after the last cluster');
    if (c.size !== undefined && i < infos.length - 1) assert.equal(end, infos[i + 1]!.offset, 'data between clusters');
    const times = c.frames.map((f) => Math.round(f.timestampNs / 1e6));
    return {
      offset: c.offset,
      size: end - c.offset,
      timecode: Math.round(c.timestampNs! / 1e6),
      firstFrameMs: Math.min(...times),
      lastFrameMs: Math.max(...times),
      frames: c.frames.length,
      bytes: input.subarray(c.offset, end),
    };
  });
  return { input, clusters };
}

// ---------------------------------------------------------------------------------------------------
// Crafted MKV

export interface CraftFrame {
  track: number;
  rel: number;
  size: number;
  key?: boolean;
}
export interface CraftCluster {
  timecode: number;
  frames: CraftFrame[];
  unknownSize?: boolean;
  /**
   * The KVS producer SDK's layout (PIC MkvStatics.c): unknown size, an 8-byte Timecode (E7 88 ...) and a
   * Position 0 (A7 81 00) before the SimpleBlocks.
   */
  producerSdk?: boolean;
}

const EBML_HEADER = element(
  ID.EBML,
  Buffer.concat([
    uintElement(0x4286, 1),
    uintElement(0x42f7, 1),
    uintElement(0x42f2, 4),
    uintElement(0x42f3, 8),
    stringElement(0x4282, 'matroska'),
    uintElement(0x4287, 4),
    uintElement(0x4285, 2),
  ]),
);

/** EBML header + Segment (unknown size) + Info (TimecodeScale 1 ms) + Tracks with `tracks` video tracks 1..n. */
export function craftHeader(tracks: number | number[] = 1): Buffer {
  const numbers = typeof tracks === 'number' ? Array.from({ length: tracks }, (_, i) => i + 1) : tracks;
  const info = element(
    ID.Info,
    Buffer.concat([uintElement(ID.TimecodeScale, 1_000_000), stringElement(0x4d80, 'kvsd-test')]),
  );
  const entries = numbers.map((n) =>
    element(
      ID.TrackEntry,
      Buffer.concat([
        uintElement(ID.TrackNumber, n),
        uintElement(0x73c5, n),
        uintElement(ID.TrackType, 1),
        stringElement(ID.CodecID, 'V_MPEG4/ISO/AVC'),
      ]),
    ),
  );
  return Buffer.concat([EBML_HEADER, UNKNOWN_SIZE_SEGMENT_HEADER, info, element(ID.Tracks, Buffer.concat(entries))]);
}

/** SimpleBlock header: ID, size, track vint, int16 relative timecode, flags. */
function simpleBlockHeader(f: CraftFrame): Buffer {
  const head = Buffer.alloc(4);
  head[0] = 0x80 | f.track;
  head.writeInt16BE(f.rel, 1);
  head[3] = f.key === false ? 0 : 0x80;
  return Buffer.concat([encodeId(ID.SimpleBlock), encodeSizeOf(head.length + f.size), head]);
}

function encodeSizeOf(n: number): Buffer {
  // 8-byte size field: any block size fits.
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  b[0] |= 0x01;
  return b;
}

/** Frame payload: deterministic bytes, different per (timecode, rel, track). */
function framePayload(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (seed * 31 + i * 7) & 0xff;
  return b;
}

export function craftCluster(c: CraftCluster): Buffer {
  const timecode = Buffer.alloc(8);
  timecode.writeBigUInt64BE(BigInt(c.timecode));
  const parts: Buffer[] = c.producerSdk
    ? [element(ID.Timecode, timecode), Buffer.from([0xa7, 0x81, 0x00])]
    : [uintElement(ID.Timecode, c.timecode)];
  for (const f of c.frames) parts.push(simpleBlockHeader(f), framePayload(f.size, c.timecode + f.rel * 3 + f.track));
  const payload = Buffer.concat(parts);
  if (c.unknownSize || c.producerSdk)
    return Buffer.concat([
      encodeId(ID.Cluster),
      Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      payload,
    ]);
  return Buffer.concat([encodeId(ID.Cluster), encodeSizeOf(payload.length), payload]);
}

/** 25 fps frames of `size` bytes on each track, first one a keyframe, covering `ms` from rel 0. */
export function frames(
  opts: { tracks?: number[]; count?: number; stepMs?: number; size?: number; startRel?: number } = {},
): CraftFrame[] {
  const { tracks = [1], count = 10, stepMs = 40, size = 200, startRel = 0 } = opts;
  const out: CraftFrame[] = [];
  for (let i = 0; i < count; i++)
    for (const track of tracks) out.push({ track, rel: startRel + i * stepMs, size, key: i === 0 });
  return out;
}

/**
 * A cluster of about `bytes` bytes of frames (1 MiB each, all sharing one buffer), as a list of buffers to
 * stream: the whole cluster is never in memory.
 */
export function hugeCluster(timecode: number, bytes: number): { parts: Buffer[]; size: number } {
  const frameSize = 1024 * 1024;
  const data = Buffer.alloc(frameSize, 0x5a);
  const n = Math.ceil(bytes / frameSize);
  const blocks: Buffer[] = [];
  for (let i = 0; i < n; i++)
    blocks.push(simpleBlockHeader({ track: 1, rel: i * 40, size: frameSize, key: i === 0 }), data);
  const tc = uintElement(ID.Timecode, timecode);
  const payloadSize = tc.length + blocks.reduce((s, b) => s + b.length, 0);
  const head = Buffer.concat([encodeId(ID.Cluster), encodeSizeOf(payloadSize)]);
  return { parts: [head, tc, ...blocks], size: head.length + payloadSize };
}

// ---------------------------------------------------------------------------------------------------
// Sending PutMedia

export interface ClientRun {
  acks: Ack[];
  /** Date.now() when each ack arrived. */
  at: number[];
  error?: unknown;
}

/** Yields the chunks, pausing `pauseMs` after each (and calling `onChunk` first). */
export async function* paced(
  chunks: Iterable<Buffer>,
  pauseMs = 0,
  onChunk?: (i: number) => void | Promise<void>,
): AsyncGenerator<Buffer> {
  let i = 0;
  for (const c of chunks) {
    await onChunk?.(i);
    yield c;
    i++;
    if (pauseMs > 0) await sleep(pauseMs);
  }
}

/** PutMedia with kvsd's SigV4-signing PutMediaClient; collects every ack (and a transport error, if any). */
export async function sendWithClient(
  url: string,
  input: Omit<PutMediaInput, 'body'> & { body: PutMediaInput['body'] },
  onAck?: (ack: Ack, run: ClientRun) => void,
): Promise<ClientRun> {
  const client = new PutMediaClient({ endpoint: url, region: 'us-east-1', credentials: TEST_CREDENTIALS });
  const run: ClientRun = { acks: [], at: [] };
  try {
    for await (const ack of client.putMedia(input)) {
      run.acks.push(ack);
      run.at.push(Date.now());
      onAck?.(ack, run);
    }
  } catch (err) {
    run.error = err;
  }
  return run;
}

export interface RawResult {
  status: number;
  headers: IncomingHttpHeaders;
  /** The raw response body. */
  body: string;
  /** Lines of the body (for an ack stream: one JSON object each). */
  lines: string[];
  acks: Ack[];
  at: number[];
}

export interface RawOptions {
  /** Body chunks, each written as one HTTP chunk. */
  chunks?: Iterable<Buffer> | AsyncIterable<Buffer>;
  /** Pause after each chunk. */
  pauseMs?: number;
  /** Called for each ack line as it arrives. */
  onAck?: (ack: Ack) => void;
  /** Stop sending and destroy the request (client disconnect) once this resolves. */
  abortWhen?: Promise<void>;
}

/**
 * PutMedia over plain node:http (chunked body, no signature: kvsd without --auth takes any request).
 * Resolves when the response ends (or, for a destroyed request, when the socket closes).
 */
export function rawPutMedia(url: string, headers: Record<string, string>, opts: RawOptions = {}): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('/putMedia', url), {
      method: 'POST',
      headers: {
        'content-type': 'application/octet-stream',
        'transfer-encoding': 'chunked',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/kinesisvideo/aws4_request, SignedHeaders=host, Signature=00',
        'x-amz-date': '20240101T000000Z',
        ...headers,
      },
    });
    let aborted = false;
    let settled = false;
    const result: RawResult = { status: 0, headers: {}, body: '', lines: [], acks: [], at: [] };
    const done = () => {
      if (!settled) {
        settled = true;
        resolve(result);
      }
    };
    req.on('error', (err) => {
      if (aborted || result.status !== 0) return done();
      settled = true;
      reject(err);
    });
    req.on('response', (res) => {
      result.status = res.statusCode ?? 0;
      result.headers = res.headers;
      let pending = '';
      res.on('data', (d: Buffer) => {
        const text = d.toString('utf8');
        result.body += text;
        pending += text;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          result.lines.push(line);
          if (result.status === 200) {
            const ack = JSON.parse(line) as Ack;
            result.acks.push(ack);
            result.at.push(Date.now());
            opts.onAck?.(ack);
          }
        }
      });
      res.on('end', () => {
        if (pending) result.lines.push(pending);
        done();
      });
      res.on('error', done);
      res.on('close', done);
    });
    opts.abortWhen?.then(() => {
      aborted = true;
      req.destroy();
      setTimeout(done, 50);
    });
    void (async () => {
      try {
        for await (const chunk of opts.chunks ?? []) {
          if (aborted || req.destroyed) return;
          if (!req.write(chunk)) {
            await new Promise<void>((r) => {
              const go = () => {
                req.off('drain', go);
                req.off('close', go);
                r();
              };
              req.on('drain', go);
              req.on('close', go);
            });
          }
          if (opts.pauseMs) await sleep(opts.pauseMs);
        }
        if (!aborted && !req.destroyed) req.end();
      } catch (err) {
        req.destroy(err as Error);
      }
    })();
  });
}

// ---------------------------------------------------------------------------------------------------
// Checking acks

/** The ack lines of one session, checked for shape: what every PutMedia response must satisfy. */
export function checkAckShapes(acks: Ack[]) {
  for (const a of acks) {
    assert.ok(
      ['BUFFERING', 'RECEIVED', 'PERSISTED', 'ERROR', 'IDLE'].includes(a.EventType),
      `unknown EventType ${a.EventType}`,
    );
    if (a.EventType === 'IDLE') continue;
    assert.equal(typeof a.FragmentTimecode, 'number');
    assert.equal(typeof a.FragmentNumber, 'string');
    if (a.EventType === 'ERROR') {
      assert.equal(typeof a.ErrorId, 'number');
      assert.equal(typeof a.ErrorCode, 'string');
    } else {
      assert.match(a.FragmentNumber!, /^\d{47}$/);
    }
  }
}

/**
 * Checks that the acks (IDLE aside) are exactly, for each expected cluster timecode in order:
 * BUFFERING, RECEIVED (before the next BUFFERING), PERSISTED (if `persisted`), with one fragment number per cluster,
 * 47 digits and strictly increasing. Returns the fragment numbers.
 */
export function checkAckSequence(acks: Ack[], timecodes: number[], persisted = true): string[] {
  checkAckShapes(acks);
  const real = acks.filter((a) => a.EventType !== 'IDLE');
  assert.deepEqual(
    real.filter((a) => a.EventType === 'ERROR'),
    [],
    'no ERROR ack expected',
  );
  const buffering = real.filter((a) => a.EventType === 'BUFFERING');
  assert.deepEqual(
    buffering.map((a) => a.FragmentTimecode),
    timecodes,
    'one BUFFERING per cluster, with the raw cluster timecode',
  );
  const numbers = buffering.map((a) => a.FragmentNumber!);
  for (let i = 1; i < numbers.length; i++)
    assert.ok(numbers[i - 1]! < numbers[i]!, 'fragment numbers strictly increase');
  assert.deepEqual(
    real.filter((a) => a.EventType === 'RECEIVED').map((a) => [a.FragmentNumber, a.FragmentTimecode]),
    numbers.map((n, i) => [n, timecodes[i]]),
    'one RECEIVED per cluster, in order',
  );
  assert.deepEqual(
    real.filter((a) => a.EventType === 'PERSISTED').map((a) => [a.FragmentNumber, a.FragmentTimecode]),
    persisted ? numbers.map((n, i) => [n, timecodes[i]]) : [],
    persisted ? 'one PERSISTED per cluster, in order' : 'no PERSISTED',
  );
  numbers.forEach((n, i) => {
    const b = real.findIndex((a) => a.EventType === 'BUFFERING' && a.FragmentNumber === n);
    const r = real.findIndex((a) => a.EventType === 'RECEIVED' && a.FragmentNumber === n);
    assert.ok(b < r, `BUFFERING before RECEIVED for cluster ${i}`);
    if (i + 1 < numbers.length) {
      const nextB = real.findIndex((a) => a.EventType === 'BUFFERING' && a.FragmentNumber === numbers[i + 1]);
      assert.ok(r < nextB, `RECEIVED of cluster ${i} before BUFFERING of cluster ${i + 1}`);
    }
    if (persisted) {
      const p = real.findIndex((a) => a.EventType === 'PERSISTED' && a.FragmentNumber === n);
      assert.ok(r < p, `RECEIVED before PERSISTED for cluster ${i}`);
    }
  });
  return numbers;
}

// ---------------------------------------------------------------------------------------------------
// Health

/** GET /health answers 200 {"status":"ok"}. */
export async function assertHealthy(url: string) {
  const res = await fetch(new URL('/health', url));
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: 'ok' });
}
