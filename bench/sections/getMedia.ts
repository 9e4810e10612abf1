/**
 * 4. GetMediaForFragmentList: MB/s of MKV served for batches of stored fragments, against reading the
 * same segment bytes from disk (warm page cache in both cases). The data: one stream filled through
 * PutMedia with the benchmark's 250,000-byte fragments. Skipped (with a note) while kvsd does not serve
 * the operation.
 */
import { closeSync, mkdirSync, openSync, readSync, readdirSync, rmSync, statSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import {
  ApiCallError,
  call,
  closeIdleConnections,
  createStream,
  sha256Hex,
  signedHeaders,
  producerRange,
  type FragmentJson,
} from '../lib/api.js';
import type { Ctx } from '../lib/context.js';
import { runProducers } from '../lib/producers.js';
import { startHelper, startKvsd } from '../lib/proc.js';
import { fmt, mb, ratio } from '../lib/report.js';
import { CLUSTER_BYTES } from '../lib/mkv.js';
import { rng } from './listFragments.js';

const BATCH = 100;

/** Does this kvsd serve GetMediaForFragmentList? (An unknown path answers UnknownOperationException.) */
export async function servesGetMediaForFragmentList(base: string): Promise<boolean> {
  try {
    await call(base, 'getMediaForFragmentList', {});
    return true;
  } catch (err) {
    return !(
      err instanceof ApiCallError &&
      (err.type === 'UnknownOperationException' || (err.status === 404 && err.type === ''))
    );
  }
}

async function getMedia(base: string, stream: string, fragments: string[]): Promise<number> {
  const body = Buffer.from(JSON.stringify({ StreamName: stream, Fragments: fragments }));
  const headers = await signedHeaders(
    base,
    '/getMediaForFragmentList',
    { 'content-type': 'application/json', 'content-length': String(body.length) },
    await sha256Hex(body),
  );
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(new URL('/getMediaForFragmentList', base), { method: 'POST', headers }, resolve);
    req.once('error', reject);
    req.end(body);
  });
  let bytes = 0;
  if (res.statusCode !== 200) {
    let text = '';
    for await (const c of res as AsyncIterable<Buffer>) text += c.toString('utf8');
    throw new Error(`GetMediaForFragmentList: HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
  }
  for await (const c of res as AsyncIterable<Buffer>) bytes += c.length;
  return bytes;
}

async function allFragments(base: string, stream: string): Promise<string[]> {
  const out: FragmentJson[] = [];
  let token: string | undefined;
  do {
    const r = await call<{ Fragments: FragmentJson[]; NextToken?: string }>(
      base,
      'listFragments',
      token
        ? { StreamName: stream, NextToken: token, MaxResults: 1000 }
        : { StreamName: stream, MaxResults: 1000, FragmentSelector: producerRange(0, 4_000_000_000_000) },
    );
    out.push(...r.Fragments);
    token = r.NextToken;
  } while (token);
  return out.sort((a, b) => a.ProducerTimestamp - b.ProducerTimestamp).map((f) => f.FragmentNumber);
}

/** Reads every segment file under `dir` with 1 MiB reads until `seconds` passed; bytes per second. */
function diskRead(dir: string, seconds: number): number {
  const files: string[] = [];
  for (const d of readdirSync(dir)) for (const f of readdirSync(join(dir, d))) files.push(join(dir, d, f));
  const buf = Buffer.allocUnsafe(1 << 20);
  let bytes = 0;
  const t = performance.now();
  do {
    for (const f of files) {
      const fd = openSync(f, 'r');
      try {
        const size = statSync(f).size;
        for (let pos = 0; pos < size; ) {
          const n = readSync(fd, buf, 0, buf.length, pos);
          if (n === 0) break;
          pos += n;
          bytes += n;
        }
      } finally {
        closeSync(fd);
      }
    }
  } while (performance.now() - t < seconds * 1000);
  return bytes / ((performance.now() - t) / 1000);
}

/** `clients` loops of `once()` until `seconds` passed; bytes per second and request count. */
async function loop(clients: number, seconds: number, once: () => Promise<number>) {
  let bytes = 0;
  let requests = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        const n = await once(); // not `bytes += await once()`: that reads `bytes` before the await
        bytes += n;
        requests++;
      }
    }),
  );
  return { rate: bytes / ((performance.now() - started) / 1000), requests };
}

async function postForBytes(url: string, body: object): Promise<number> {
  const payload = Buffer.from(JSON.stringify(body));
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(payload.length) } },
      resolve,
    );
    req.once('error', reject);
    req.end(payload);
  });
  let bytes = 0;
  for await (const c of res as AsyncIterable<Buffer>) bytes += c.length;
  if (res.statusCode !== 200) throw new Error(`${url}: HTTP ${res.statusCode}`);
  return bytes;
}

export async function benchGetMedia(ctx: Ctx) {
  const dir = join(ctx.workDir, 'getmedia');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const server = await startKvsd(dir);
  try {
    if (!(await servesGetMediaForFragmentList(server.url))) {
      ctx.report.skipped.push(
        '4. GetMediaForFragmentList: this kvsd does not serve the operation yet (POST /getMediaForFragmentList answers UnknownOperationException); the benchmark (bench/sections/getMedia.ts) runs as soon as it does.',
      );
      ctx.log('  skipped: kvsd does not serve GetMediaForFragmentList yet');
      return;
    }
    const fragments = ctx.quick ? 160 : 400;
    const stream = 'getmedia';
    await createStream(server.url, stream, 24);
    closeIdleConnections();
    const fill = await runProducers({
      base: server.url,
      streams: [stream],
      mode: 'kvsd',
      seconds: 120,
      warmupSeconds: 0,
      window: 8,
      maxBytes: fragments * CLUSTER_BYTES,
    });
    if (fill.persistedFragments !== fragments)
      throw new Error(`only ${fill.persistedFragments} of ${fragments} fragments persisted`);
    const numbers = await allFragments(server.url, stream);
    const seconds = ctx.quick ? 2 : 6;
    const mediaDir = join(dir, 'media');
    const segments = readdirSync(mediaDir).flatMap((d) =>
      readdirSync(join(mediaDir, d)).map((f) => join(mediaDir, d, f)),
    );
    const segmentBytes = segments.reduce((a, f) => a + statSync(f).size, 0);
    if (segments.length !== 1 || segmentBytes !== fragments * CLUSTER_BYTES)
      throw new Error(
        `expected one segment of ${fragments * CLUSTER_BYTES} bytes, found ${segments.length} (${segmentBytes} bytes)`,
      );

    const t = ctx.report.table(
      `4. GetMediaForFragmentList: batches of ${BATCH} consecutive 250,000-byte fragments (${fmt(mb(BATCH * CLUSTER_BYTES), 0)} MB per response), ${seconds} s per row`,
      [
        'clients',
        'requests',
        'MB/s',
        'fragments/s',
        'HTTP file server MB/s',
        'ratio',
        'disk read MB/s',
        'ratio to disk',
      ],
    );
    t.notes.push(
      `Disk ceiling (the one asked for): one reader reading the stream's segment file (the same ${fmt(mb(segmentBytes), 0)} MB of fragments) with 1 MiB read() calls for ${seconds} s; the page cache is warm, so this is memory bandwidth more than disk.`,
      'HTTP file server ceiling: a bare node:http process answering each request with the same batch\'s bytes straight from the segment file (createReadStream with 256 KiB reads piped into the response), same number of clients: the cost of moving these bytes over loopback HTTP with Node. "ratio" is to this ceiling.',
      'MB/s counts response bytes (fragment bytes plus the MKV header and tags kvsd adds to each fragment).',
    );
    const disk = diskRead(mediaDir, seconds);
    const fileServer = await startHelper('fileServer.ts', [segments[0]!, String(CLUSTER_BYTES)]);
    try {
      for (const clients of [1, 4]) {
        const r = rng(7 + clients);
        const pick = () => Math.floor(r() * (numbers.length - BATCH));
        await getMedia(server.url, stream, numbers.slice(0, BATCH)); // warm-up
        const kvsd = await loop(clients, seconds, () => {
          const k = pick();
          return getMedia(server.url, stream, numbers.slice(k, k + BATCH));
        });
        const ceiling = await loop(clients, seconds, () => postForBytes(fileServer.url, { k: pick(), count: BATCH }));
        t.rows.push([
          String(clients),
          String(kvsd.requests),
          fmt(mb(kvsd.rate)),
          fmt(kvsd.rate / CLUSTER_BYTES),
          fmt(mb(ceiling.rate)),
          ratio(kvsd.rate, ceiling.rate),
          fmt(mb(disk)),
          ratio(kvsd.rate, disk),
        ]);
        ctx.log(`  ${t.rows[t.rows.length - 1]!.join('  ')}`);
      }
    } finally {
      await fileServer.stop();
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
