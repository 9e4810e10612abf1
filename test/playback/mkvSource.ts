/**
 * Real MKV from ffmpeg, cut as kvsd stores it: the Info ‖ Tracks bytes of the stream and one Cluster per
 * fragment, then demuxed by the playback layer (parseTracks, fragmentSamples) into what the muxers take.
 * Files are cached in the OS temp directory, keyed by the ffmpeg command line.
 */
// needs: ffmpeg
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ID, readElementHeader, readUint, UNKNOWN } from '../../src/mkv/index.js';
import { fragmentSamples, parseTracks, type TrackSet } from '../../src/playback/demux.js';
import type { TrackMedia } from '../../src/playback/media.js';
import { cachedFfmpegFile } from '../helpers/media.js';

/** A producer's start time, as KVS streams carry it: timestamps are epoch milliseconds. */
export const EPOCH_START_S = 1_700_000_000;

export interface SourceOptions {
  codec?: 'h264' | 'h265';
  seconds?: number;
  fps?: number;
  size?: string;
  audio?: boolean;
  /** Keyframe interval in frames: ffmpeg starts a Cluster at each keyframe, so this is the fragment length. */
  gop?: number;
  /** B-frames between references (x264 and x265 both take -bf). */
  bframes?: number;
  preset?: string;
  /** Temporal noise (ffmpeg's noise filter strength): makes testsrc cost what a camera's picture costs. */
  noise?: number;
  /** Target video bitrate, e.g. '6M' (otherwise the encoder's default quality). */
  bitrate?: string;
}

export interface Source {
  file: string;
  infoAndTracks: Buffer;
  clusters: Buffer[];
  set: TrackSet;
  /** Per cluster, per track of `set.tracks`: the samples fragmentSamples gives. */
  fragments: TrackMedia[][];
}

/** Encodes test patterns (and a 440 Hz tone) into MKV whose timestamps start at EPOCH_START_S. */
export async function mkvSource(opts: SourceOptions = {}): Promise<Source> {
  const { codec = 'h264', seconds = 4, fps = 25, size = '320x240', audio = false, gop = 25, bframes = 2 } = opts;
  const preset = opts.preset ?? 'veryfast';
  const args = ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=${fps}`];
  if (audio) args.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000');
  args.push('-t', String(seconds), '-pix_fmt', 'yuv420p', '-bf', String(bframes), '-g', String(gop));
  if (opts.noise) args.push('-vf', `noise=alls=${opts.noise}:allf=t`);
  if (opts.bitrate) args.push('-b:v', opts.bitrate, '-maxrate', opts.bitrate, '-bufsize', opts.bitrate);
  if (codec === 'h264') args.push('-c:v', 'libx264', '-preset', preset, '-sc_threshold', '0');
  else args.push('-c:v', 'libx265', '-preset', preset, '-x265-params', `log-level=error:scenecut=0:keyint=${gop}`);
  if (audio) args.push('-c:a', 'aac');
  args.push('-output_ts_offset', String(EPOCH_START_S), '-f', 'matroska');
  const file = await cachedFfmpegFile(['-y', ...args]);
  const { infoAndTracks, clusters } = splitMkv(await readFile(file));
  const set = parseTracks(infoAndTracks);
  const starts = clusters.map((c) => clusterTimeMs(c, set.timecodeScaleNs));
  const fragments = clusters.map((c, i) => fragmentSamples(c, set, starts[i + 1]));
  return { file, infoAndTracks, clusters, set, fragments };
}

/** The Info and Tracks elements (concatenated) and the Clusters among the Segment's level-1 elements. */
export function splitMkv(mkv: Buffer): { infoAndTracks: Buffer; clusters: Buffer[] } {
  const ebml = readElementHeader(mkv, 0, 0);
  if (!ebml || ebml.id !== ID.EBML) throw new Error('not an EBML file');
  let pos = ebml.length + ebml.size;
  const segment = readElementHeader(mkv, pos, pos);
  if (!segment || segment.id !== ID.Segment) throw new Error('no Segment after the EBML header');
  pos += segment.length;
  const end = segment.size === UNKNOWN ? mkv.length : Math.min(mkv.length, pos + segment.size);
  const head: Buffer[] = [];
  const clusters: Buffer[] = [];
  while (pos < end) {
    const h = readElementHeader(mkv, pos, pos);
    if (!h || h.size === UNKNOWN) throw new Error(`level-1 element of unknown size at ${pos}`);
    const bytes = mkv.subarray(pos, pos + h.length + h.size);
    if (h.id === ID.Info || h.id === ID.Tracks) head.push(bytes);
    else if (h.id === ID.Cluster) clusters.push(bytes);
    pos += bytes.length;
  }
  return { infoAndTracks: Buffer.concat(head), clusters };
}

/** A Cluster's Timecode in ms: the presentation start of the fragment, the end of the one before. */
function clusterTimeMs(cluster: Buffer, timecodeScaleNs: number): number {
  const h = readElementHeader(cluster, 0, 0)!;
  let pos = h.length;
  while (pos < cluster.length) {
    const c = readElementHeader(cluster, pos, pos)!;
    if (c.id === ID.Timecode) {
      return (readUint(cluster.subarray(pos + c.length, pos + c.length + c.size)) * timecodeScaleNs) / 1e6;
    }
    pos += c.length + c.size;
  }
  throw new Error('a Cluster without a Timecode');
}

/** An ISO-BMFF box as the tests read it back: where it is, its type and its payload. */
export interface ParsedBox {
  type: string;
  /** Offset of the box's first byte in the buffer parsed. */
  start: number;
  size: number;
  payload: Buffer;
}

/** The boxes one after the other in buf[start, end), checking that their sizes tile it exactly. */
export function parseBoxes(buf: Buffer, start = 0, end = buf.length): ParsedBox[] {
  const boxes: ParsedBox[] = [];
  let pos = start;
  while (pos < end) {
    let size = buf.readUInt32BE(pos);
    let header = 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(pos + 8));
      header = 16;
    }
    if (size < header || pos + size > end) throw new Error(`box at ${pos} of size ${size} overruns ${end}`);
    boxes.push({
      type: buf.toString('latin1', pos + 4, pos + 8),
      start: pos,
      size,
      payload: buf.subarray(pos + header, pos + size),
    });
    pos += size;
  }
  return boxes;
}

/** Container boxes whose payload is just boxes (stsd and the sample entries are not: they have fields first). */
const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'dinf', 'mvex', 'moof', 'traf', 'edts']);

/** The box at a path of types (`moov/trak/mdia/mdhd`), the n-th match of the last step. */
export function findBox(boxes: ParsedBox[], path: string, nth = 0): ParsedBox | undefined {
  return findAll(boxes, path)[nth];
}

export function findAll(boxes: ParsedBox[], path: string): ParsedBox[] {
  const [first, ...rest] = path.split('/');
  const here = boxes.filter((b) => b.type === first);
  if (rest.length === 0) return here;
  return here.flatMap((b) => {
    if (!CONTAINERS.has(b.type)) throw new Error(`${b.type} is not a container box`);
    return findAll(parseBoxes(b.payload), rest.join('/'));
  });
}

export interface Probe {
  /** ffprobe's JSON (streams, format, packets, frames: whichever the arguments asked for). */
  json: any;
  stderr: string;
}

/** ffprobe -v error -of json ARGS FILE: what it found and what it complained about. */
export async function ffprobe(file: string, args: string[]): Promise<Probe> {
  const { stdout, stderr } = await run('ffprobe', ['-v', 'error', '-of', 'json', ...args, file]);
  return { json: JSON.parse(stdout), stderr };
}

/** ffmpeg decoding every stream of the file to nowhere: its complaints (none for a good file). */
export async function decodeErrors(file: string): Promise<string> {
  return (await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'])).stderr;
}

function run(command: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

let scratch: string | undefined;

/** Writes bytes to a fresh file in this process's scratch directory (for ffprobe), returns its path. */
export function scratchFile(name: string, bytes: Buffer): string {
  if (scratch === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'kvsd-playback-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    scratch = dir;
  }
  const path = join(scratch, name);
  writeFileSync(path, bytes);
  return path;
}
