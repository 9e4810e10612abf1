/**
 * Helpers of the reader tests (GetMediaForFragmentList, GetMedia): a byte-level parser of the concatenated
 * KVS MKV documents these operations return (independent of src/mkv, so that it can catch the server's
 * writer), an incremental GetMedia consumer, real ingest with PutMediaClient (one cluster per write, paced),
 * raw HTTP, the decoders as oracles (ffprobe, ffmpeg, mkvinfo), and /proc probes.
 */
// needs: ffmpeg, mkvtoolnix
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  KinesisVideoArchivedMediaClient,
  GetMediaForFragmentListCommand,
} from '@aws-sdk/client-kinesis-video-archived-media';
import {
  KinesisVideoMediaClient,
  GetMediaCommand,
  type GetMediaCommandInput,
} from '@aws-sdk/client-kinesis-video-media';
import { PutMediaClient, type PutMediaAck } from '../../src/client/putMediaClient.js';
import { run } from './cli.js';
import { mkvinfoClusters, mulberry32 } from './media.js';
import { clientConfig } from './sdk.js';
import { sleep } from './time.js';

// ---------------------------------------------------------------------------------------------------
// EBML, byte level

export const EID = {
  EBML: 0x1a45dfa3,
  Segment: 0x18538067,
  SeekHead: 0x114d9b74,
  Info: 0x1549a966,
  Tracks: 0x1654ae6b,
  Tags: 0x1254c367,
  Tag: 0x7373,
  Targets: 0x63c0,
  SimpleTag: 0x67c8,
  TagName: 0x45a3,
  TagString: 0x4487,
  Cluster: 0x1f43b675,
  Cues: 0x1c53bb6b,
  Chapters: 0x1043a770,
  Attachments: 0x1941a469,
  Void: 0xec,
} as const;

/** IDs that end an unknown-size Cluster: every level-1 element and a new EBML header. */
const CLUSTER_ENDERS = new Set<number>([
  EID.EBML,
  EID.Segment,
  EID.SeekHead,
  EID.Info,
  EID.Tracks,
  EID.Tags,
  EID.Cluster,
  EID.Cues,
  EID.Chapters,
  EID.Attachments,
]);

interface Head {
  id: number;
  headerLength: number;
  size: number | undefined;
  sizeWidth: number;
}

/** Element header at pos: ID (marker kept), size (undefined = unknown); undefined if incomplete. */
export function readHead(buf: Buffer, pos: number): Head | undefined {
  if (pos >= buf.length) return undefined;
  const idWidth = width(buf[pos]!);
  assert.ok(idWidth >= 1 && idWidth <= 4, `invalid element ID byte 0x${buf[pos]!.toString(16)} at ${pos}`);
  if (pos + idWidth >= buf.length) return undefined;
  let id = 0;
  for (let i = 0; i < idWidth; i++) id = id * 256 + buf[pos + i]!;
  const s = pos + idWidth;
  const sizeWidth = width(buf[s]!);
  assert.ok(sizeWidth >= 1 && sizeWidth <= 8, `invalid size byte at ${s}`);
  if (s + sizeWidth > buf.length) return undefined;
  let size = buf[s]! & (0xff >> sizeWidth);
  let allOnes = size === 0xff >> sizeWidth;
  for (let i = 1; i < sizeWidth; i++) {
    size = size * 256 + buf[s + i]!;
    if (buf[s + i] !== 0xff) allOnes = false;
  }
  return { id, headerLength: idWidth + sizeWidth, size: allOnes ? undefined : size, sizeWidth };
}

function width(first: number): number {
  for (let w = 1; w <= 8; w++) if (first & (0x80 >> (w - 1))) return w;
  return 9;
}

/** The children of a payload (all known size). */
export function childrenOf(payload: Buffer): { id: number; sizeWidth: number; bytes: Buffer; payload: Buffer }[] {
  const out = [];
  for (let p = 0; p < payload.length; ) {
    const h = readHead(payload, p);
    assert.ok(h && h.size !== undefined && p + h.headerLength + h.size <= payload.length, `truncated child at ${p}`);
    out.push({
      id: h.id,
      sizeWidth: h.sizeWidth,
      bytes: payload.subarray(p, p + h.headerLength + h.size),
      payload: payload.subarray(p + h.headerLength, p + h.headerLength + h.size),
    });
    p += h.headerLength + h.size;
  }
  return out;
}

/**
 * A KVS Tags element: exactly one Tag without Targets, whose children are SimpleTags of TagName + TagString,
 * every size field 4 bytes wide (docs/kvs-wire.md, GetMedia and GetMediaForFragmentList responses). Returns the pairs in order; fails on any other layout.
 */
export function kvsTagPairs(tagsElement: Buffer): [string, string][] {
  const h = readHead(tagsElement, 0)!;
  assert.equal(h.id, EID.Tags);
  assert.equal(h.sizeWidth, 4, 'Tags size field is 4 bytes');
  const tags = childrenOf(tagsElement.subarray(h.headerLength));
  assert.equal(tags.length, 1, 'one Tag per Tags');
  assert.equal(tags[0]!.id, EID.Tag);
  assert.equal(tags[0]!.sizeWidth, 4, 'Tag size field is 4 bytes');
  return childrenOf(tags[0]!.payload).map((st) => {
    assert.equal(st.id, EID.SimpleTag, 'only SimpleTags in the Tag (no Targets)');
    assert.equal(st.sizeWidth, 4, 'SimpleTag size field is 4 bytes');
    const kids = childrenOf(st.payload);
    assert.deepEqual(
      kids.map((k) => k.id),
      [EID.TagName, EID.TagString],
      'SimpleTag = TagName, TagString',
    );
    assert.deepEqual(
      kids.map((k) => k.sizeWidth),
      [4, 4],
      'TagName/TagString size fields are 4 bytes',
    );
    return [kids[0]!.payload.toString('utf8'), kids[1]!.payload.toString('utf8')];
  });
}

// ---------------------------------------------------------------------------------------------------
// KVS documents

export interface KvsDocument {
  /** Offset of the document in the response. */
  offset: number;
  bytes: Buffer;
  ebmlHeader: Buffer;
  /** The Segment's ID + size field. */
  segmentHeader: Buffer;
  /** The Segment's children in order (ID + bytes). */
  elements: { id: number; bytes: Buffer }[];
  /** Elements before the KVS Tags that precede the Cluster (the producer's Info and Tracks). */
  header: { id: number; bytes: Buffer }[];
  /** The KVS Tags before the Cluster (or of an error document), in order. */
  tags: [string, string][];
  cluster?: Buffer;
  /** The Tags after the Cluster (GetMedia), in order. */
  trailer?: [string, string][];
  /** Date.now() when the document was complete (incremental parsing only). */
  at?: number;
}

export const tag = (pairs: [string, string][] | undefined, name: string) => pairs?.find(([n]) => n === name)?.[1];

/**
 * Parses the document starting at `pos`. Returns undefined when more bytes are needed. When not `final`, a
 * document is complete once the next one starts or, with `trailerEnds`, once its trailing Tags are in.
 */
function parseDocument(
  buf: Buffer,
  pos: number,
  final: boolean,
  trailerEnds: boolean,
): { doc: KvsDocument; end: number } | undefined {
  const eh = readHead(buf, pos);
  if (!eh) {
    assert.ok(!final, `truncated EBML header at ${pos}`);
    return undefined;
  }
  assert.equal(eh.id, EID.EBML, `document at ${pos} starts with an EBML header (found 0x${eh.id.toString(16)})`);
  assert.ok(eh.size !== undefined);
  let p = pos + eh.headerLength + eh.size;
  if (p > buf.length) {
    assert.ok(!final, 'truncated EBML header');
    return undefined;
  }
  const ebmlHeader = buf.subarray(pos, p);
  const sh = readHead(buf, p);
  if (!sh) {
    assert.ok(!final, 'truncated Segment header');
    return undefined;
  }
  assert.equal(sh.id, EID.Segment, 'EBML header followed by a Segment');
  assert.equal(sh.size, undefined, 'the Segment has an unknown size');
  const segmentHeader = buf.subarray(p, p + sh.headerLength);
  p += sh.headerLength;
  const elements: { id: number; bytes: Buffer }[] = [];
  let seenCluster = false;
  let trailerDone = false;
  for (;;) {
    if (trailerEnds && trailerDone) break;
    if (p >= buf.length) {
      if (final) break;
      return undefined;
    }
    const h = readHead(buf, p);
    if (!h) {
      assert.ok(!final, `truncated element header at ${p}`);
      return undefined;
    }
    if (h.id === EID.EBML) break;
    let end: number;
    if (h.size === undefined) {
      assert.equal(h.id, EID.Cluster, `unknown size only for Clusters (0x${h.id.toString(16)} at ${p})`);
      let q = p + h.headerLength;
      for (;;) {
        if (q >= buf.length) {
          if (final) break;
          return undefined;
        }
        const c = readHead(buf, q);
        if (!c) {
          assert.ok(!final, `truncated header in cluster at ${q}`);
          return undefined;
        }
        if (CLUSTER_ENDERS.has(c.id)) break;
        assert.ok(c.size !== undefined, 'cluster child of unknown size');
        q += c.headerLength + c.size;
        if (q > buf.length) {
          assert.ok(!final, 'truncated cluster child');
          return undefined;
        }
      }
      end = q;
    } else {
      end = p + h.headerLength + h.size;
      if (end > buf.length) {
        assert.ok(!final, `truncated element at ${p}`);
        return undefined;
      }
    }
    elements.push({ id: h.id, bytes: buf.subarray(p, end) });
    if (h.id === EID.Cluster) seenCluster = true;
    else if (h.id === EID.Tags && seenCluster) trailerDone = true;
    p = end;
  }
  const ci = elements.findIndex((e) => e.id === EID.Cluster);
  assert.ok(elements.filter((e) => e.id === EID.Cluster).length <= 1, 'at most one Cluster per document');
  const pre = ci < 0 ? elements : elements.slice(0, ci);
  const tagIndex = pre.map((e) => e.id).lastIndexOf(EID.Tags);
  assert.ok(tagIndex >= 0, `document at ${pos} has KVS Tags`);
  const post = ci < 0 ? [] : elements.slice(ci + 1);
  assert.ok(post.length <= 1 && post.every((e) => e.id === EID.Tags), 'only trailing Tags after the Cluster');
  const doc: KvsDocument = {
    offset: pos,
    bytes: buf.subarray(pos, p),
    ebmlHeader,
    segmentHeader,
    elements,
    header: pre.filter((_, i) => i !== tagIndex),
    tags: kvsTagPairs(pre[tagIndex]!.bytes),
    ...(ci >= 0 && { cluster: elements[ci]!.bytes }),
    ...(post.length === 1 && { trailer: kvsTagPairs(post[0]!.bytes) }),
  };
  return { doc, end: p };
}

/** Every document of a complete response. */
export function parseDocuments(buf: Buffer): KvsDocument[] {
  const docs: KvsDocument[] = [];
  for (let p = 0; p < buf.length; ) {
    const r = parseDocument(buf, p, true, false)!;
    docs.push(r.doc);
    p = r.end;
  }
  return docs;
}

/** The producer's EBML header, Info and Tracks bytes of an input file (what every document must repeat). */
export function producerHeader(input: Buffer): { ebmlHeader: Buffer; info: Buffer; tracks: Buffer } {
  const eh = readHead(input, 0)!;
  assert.equal(eh.id, EID.EBML);
  const ebmlHeader = input.subarray(0, eh.headerLength + eh.size!);
  let p = ebmlHeader.length;
  const sh = readHead(input, p)!;
  assert.equal(sh.id, EID.Segment);
  p += sh.headerLength;
  let info: Buffer | undefined;
  let tracks: Buffer | undefined;
  while (!(info && tracks)) {
    const h = readHead(input, p)!;
    assert.notEqual(h.id, EID.Cluster, 'Info and Tracks come before the first Cluster');
    const end = p + h.headerLength + h.size!;
    if (h.id === EID.Info) info = input.subarray(p, end);
    if (h.id === EID.Tracks) tracks = input.subarray(p, end);
    p = end;
  }
  return { ebmlHeader, info, tracks };
}

// ---------------------------------------------------------------------------------------------------
// Input files

/** One cluster of an input file as ingest() sends it (one write each) and as readers must return it, byte for byte. */
export interface IngestCluster {
  offset: number;
  size: number;
  timecode: number;
  frames: number;
  bytes: Buffer;
}

/** A file's clusters as mkvinfo (the oracle) finds them, with their exact bytes; `head` = everything before. */
export async function inputOf(
  file: string,
): Promise<{ input: Buffer; head: Buffer; clusters: IngestCluster[]; frames: number }> {
  const input = readFileSync(file);
  const infos = await mkvinfoClusters(file);
  assert.ok(infos.length > 1, `mkvinfo found clusters in ${file}`);
  const clusters = infos.map((c, i) => {
    const end = c.size !== undefined ? c.offset + c.size : (infos[i + 1]?.offset ?? input.length);
    assert.equal(end, infos[i + 1]?.offset ?? input.length, 'clusters are contiguous to the end of the file');
    return {
      offset: c.offset,
      size: end - c.offset,
      timecode: Math.round(c.timestampNs! / 1e6),
      frames: c.frames.length,
      bytes: input.subarray(c.offset, end),
    };
  });
  return {
    input,
    head: input.subarray(0, clusters[0]!.offset),
    clusters,
    frames: clusters.reduce((s, c) => s + c.frames, 0),
  };
}

// ---------------------------------------------------------------------------------------------------
// Ingest

export interface Ingest {
  acks: PutMediaAck[];
  /** Date.now() at each ack. */
  at: number[];
  /** Fragment numbers from the RECEIVED acks, in order. */
  received: string[];
  /** Fragment numbers from the PERSISTED acks, in order, and when each came. */
  persisted: string[];
  persistedAt: number[];
  errors: PutMediaAck[];
}

/**
 * PutMedia of a file with the real producer client: the head, then one cluster per write with `pauseMs`
 * between them (distinct server timestamps). RELATIVE timecodes from `producerStartMs`.
 */
export async function ingest(
  url: string,
  stream: string,
  file: { head: Buffer; clusters: IngestCluster[] },
  opts: {
    producerStartMs: number;
    pauseMs?: number;
    onAck?: (a: PutMediaAck, at: number) => void;
  },
): Promise<Ingest> {
  const client = new PutMediaClient({ endpoint: url, region: 'us-east-1', credentials: clientConfig(url).credentials });
  const pauseMs = opts.pauseMs ?? 0;
  async function* body() {
    yield file.head;
    for (const c of file.clusters) {
      if (pauseMs) await sleep(pauseMs);
      yield c.bytes;
    }
  }
  const r: Ingest = { acks: [], at: [], received: [], persisted: [], persistedAt: [], errors: [] };
  for await (const a of client.putMedia({
    streamName: stream,
    timecodeType: 'RELATIVE',
    producerStartTimestamp: opts.producerStartMs,
    body: body(),
  })) {
    const now = Date.now();
    r.acks.push(a);
    r.at.push(now);
    if (a.EventType === 'RECEIVED') r.received.push(a.FragmentNumber!);
    if (a.EventType === 'PERSISTED') {
      r.persisted.push(a.FragmentNumber!);
      r.persistedAt.push(now);
    }
    if (a.EventType === 'ERROR') r.errors.push(a);
    opts.onAck?.(a, now);
  }
  assert.deepEqual(r.errors, [], 'no ERROR acks');
  assert.equal(r.received.length, file.clusters.length, 'one RECEIVED per cluster');
  return r;
}

/** Seconds with exactly three decimals, as the KVS tags carry timestamps. */
export const seconds3 = (ms: number) => `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}`;

// ---------------------------------------------------------------------------------------------------
// Reading

/** GetMediaForFragmentList through the JS SDK, whole payload. */
export async function fragmentList(
  url: string,
  input: { StreamName?: string; StreamARN?: string; Fragments: string[] },
) {
  const client = new KinesisVideoArchivedMediaClient(clientConfig(url));
  try {
    const out = await client.send(new GetMediaForFragmentListCommand(input));
    const bytes = Buffer.from(await out.Payload!.transformToByteArray());
    return { contentType: out.ContentType, status: out.$metadata.httpStatusCode, bytes };
  } finally {
    client.destroy();
  }
}

/** GetMediaForFragmentList through the JS SDK, the payload left unread (the caller reads or destroys it). */
export async function openFragmentList(url: string, input: { StreamName?: string; Fragments: string[] }) {
  const client = new KinesisVideoArchivedMediaClient(clientConfig(url));
  try {
    const out = await client.send(new GetMediaForFragmentListCommand(input));
    const payload = out.Payload as unknown as Readable;
    return {
      payload,
      contentType: out.ContentType,
      close: () => {
        payload.destroy();
        client.destroy();
      },
    };
  } catch (err) {
    client.destroy();
    throw err;
  }
}

/** A GetMedia response read incrementally: documents as they complete, with their arrival time. */
export class MediaConsumer {
  readonly docs: KvsDocument[] = [];
  bytes = 0;
  ended = false;
  error: unknown;
  readonly closed: Promise<void>;
  private pending: Buffer = Buffer.alloc(0);
  private offset = 0;
  private waiters: (() => void)[] = [];

  constructor(
    readonly payload: Readable,
    readonly contentType: string | undefined,
    private readonly client: { destroy(): void },
    opts: { paused?: boolean } = {},
  ) {
    this.closed = new Promise((resolve) => {
      payload.on('end', () => {
        this.ended = true;
        this.finish();
        resolve();
        this.wake();
      });
      payload.on('close', () => {
        resolve();
        this.wake();
      });
      payload.on('error', (err) => {
        this.error = err;
        resolve();
        this.wake();
      });
    });
    if (!opts.paused) this.resume();
  }

  /** Starts (or restarts) reading. */
  resume() {
    this.payload.on('data', (chunk: Buffer) => this.push(chunk));
    this.payload.resume();
  }

  private push(chunk: Buffer) {
    this.bytes += chunk.length;
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      const r = parseDocument(this.pending, 0, false, true);
      if (!r) break;
      r.doc.offset = this.offset;
      r.doc.at = Date.now();
      this.docs.push(r.doc);
      this.offset += r.end;
      this.pending = Buffer.from(this.pending.subarray(r.end));
    }
    this.wake();
  }

  private finish() {
    if (this.pending.length === 0) return;
    const docs = parseDocuments(this.pending);
    for (const d of docs) {
      d.offset += this.offset;
      d.at = Date.now();
      this.docs.push(d);
    }
    this.pending = Buffer.alloc(0);
  }

  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once `n` documents are in; fails after `ms`, or if the response ends first. */
  async waitFor(n: number, ms = 10_000): Promise<KvsDocument[]> {
    const deadline = Date.now() + ms;
    while (this.docs.length < n) {
      assert.ok(
        !this.ended && this.error === undefined,
        `GetMedia response ended after ${this.docs.length} of ${n} documents (${String(this.error ?? '')})`,
      );
      const left = deadline - Date.now();
      assert.ok(left > 0, `only ${this.docs.length} of ${n} GetMedia documents after ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.docs.slice(0, n);
  }

  /** Disconnects (the client goes away mid-response). */
  destroy() {
    this.payload.destroy();
    this.client.destroy();
  }
}

/** GetMedia through the JS SDK; the returned consumer reads the endless payload. */
export async function getMedia(
  url: string,
  input: GetMediaCommandInput,
  opts: { paused?: boolean } = {},
): Promise<MediaConsumer> {
  const client = new KinesisVideoMediaClient(clientConfig(url));
  // The response headers must come at once, even when there is nothing to send yet (NOW at an idle stream):
  // the SDK's send() resolves only with them.
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 10_000);
  try {
    const out = await client.send(new GetMediaCommand(input), { abortSignal: abort.signal }).catch((err: unknown) => {
      assert.ok(
        !abort.signal.aborted,
        `GetMedia ${JSON.stringify(input.StartSelector)}: no response headers within 10 s`,
      );
      throw err;
    });
    assert.equal(out.$metadata.httpStatusCode, 200);
    return new MediaConsumer(out.Payload as unknown as Readable, out.ContentType, client, opts);
  } catch (err) {
    client.destroy();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** The fragment numbers of documents, from their FRAGMENT_NUMBER tag. */
export const documentNumbers = (docs: KvsDocument[]) =>
  docs.map((d) => tag(d.tags, 'AWS_KINESISVIDEO_FRAGMENT_NUMBER'));

// ---------------------------------------------------------------------------------------------------
// Raw HTTP, decoders, /proc

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** POST a JSON body (a string is sent as is) without signing (kvsd runs without --auth). */
export async function rawPost(url: string, path: string, body: unknown): Promise<RawResponse> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** An error response in AWS's wire shape. */
export function assertWireError(r: RawResponse, status: number, code: string) {
  assert.equal(r.status, status, `status for ${code}: ${r.text}`);
  assert.equal(r.headers.get('x-amzn-errortype'), code, 'x-amzn-errortype');
  assert.equal(r.json?.__type, code, `body __type: ${r.text}`);
  assert.equal(typeof r.json.message, 'string');
  assert.ok(r.json.message.length > 0);
}

/** Frames ffprobe decodes-and-counts in the first video stream (across concatenated documents). */
export async function ffprobeFrames(file: string): Promise<number> {
  const r = await run('ffprobe', [
    '-v',
    'error',
    '-count_frames',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=nb_read_frames',
    '-of',
    'csv=p=0',
    file,
  ]);
  assert.equal(r.code, 0, `ffprobe failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

/**
 * ffmpeg decodes the whole file: exit 0, and the only messages are the demuxer's note at each document
 * boundary (a new Segment of unknown size inside the first, which ffmpeg prints for any concatenation of
 * MKV documents, `cat a.mkv a.mkv` included); any decoding error or timestamp complaint fails.
 */
export async function assertDecodes(file: string, documents: number) {
  const r = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
  assert.equal(r.code, 0, `ffmpeg failed: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  const boundary =
    /^\[matroska,webm @ 0x[0-9a-f]+\] Found unknown-length element with ID 0x18538067 at pos\. 0x[0-9a-f]+ for which no syntax for parsing is available\.$/;
  const other = lines.filter((l) => !boundary.test(l));
  assert.deepEqual(other, [], 'ffmpeg reports no error but the document boundaries');
  assert.equal(lines.length, documents - 1, 'one boundary note per following document');
}

/**
 * mkvinfo -a: exit 0 or 1 (1 on concatenated documents: it warns and resyncs at each new EBML header). Counts the level-1 elements it printed.
 */
export async function mkvinfoLevel1(
  file: string,
): Promise<{ code: number; clusters: number; tracks: number; info: number; tags: number }> {
  const r = await run('mkvinfo', ['-a', file]);
  assert.ok(r.code === 0 || r.code === 1, `mkvinfo exit ${r.code}: ${r.stderr}`);
  const count = (re: RegExp) => r.stdout.split('\n').filter((l) => re.test(l)).length;
  return {
    code: r.code,
    clusters: count(/^\|\+ Cluster/),
    tracks: count(/^\|\+ Tracks/),
    info: count(/^\|\+ Segment information/),
    tags: count(/^\|\+ Tags/),
  };
}

/** Open file descriptors of a process. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** What each open fd of a process points at (files by path; sockets, pipes as `socket:[inode]` etc.). */
export function fdTargets(pid: number): string[] {
  const out: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      out.push(readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      /* closed meanwhile */
    }
  }
  return out.sort();
}

/** Resident set size of a process, in bytes. */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, 'VmRSS in /proc/<pid>/status');
  return Number(m[1]) * 1024;
}

/** Deterministic shuffle (mulberry32). */
export function shuffled<T>(list: T[], seed: number): T[] {
  const random = mulberry32(seed);
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
