// needs: ffmpeg, gstreamer, mkvtoolnix
// Real MKV made by real muxers (ffmpeg, GStreamer), cached across test runs, and mkvinfo as an oracle.

import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, openSync, closeSync, renameSync, existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const CACHE_DIR = join(tmpdir(), 'kvsd-test-media');

export interface FfmpegOptions {
  seconds?: number;
  fps?: number;
  /** Keyframe interval in frames: ffmpeg starts one Cluster per keyframe. */
  gop?: number;
  /** Write a CRC-32 element first in each level-1 element (ffmpeg's default). */
  crc?: boolean;
  size?: string;
  audio?: boolean;
}

export interface GstOptions {
  frames?: number;
  gop?: number;
}

/** H.264 in Matroska from ffmpeg in live mode: unknown-size Segment, one known-size Cluster per keyframe. */
export async function ffmpegMkv(opts: FfmpegOptions = {}): Promise<Buffer> {
  return readFile(await ffmpegMkvFile(opts));
}

export async function ffmpegMkvFile(opts: FfmpegOptions = {}): Promise<string> {
  const { seconds = 10, fps = 25, gop = 50, crc = true, size = '640x360', audio = false } = opts;
  const args = ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=${fps}`];
  if (audio) args.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000');
  args.push('-t', String(seconds));
  args.push('-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p');
  args.push('-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0');
  if (audio) args.push('-c:a', 'aac');
  args.push('-f', 'matroska', '-live', '1', '-cluster_time_limit', '10000', '-cluster_size_limit', '100000000');
  if (!crc) args.push('-write_crc32', '0');
  args.push('-');
  return cached('ffmpeg', args);
}

/** H.264 in Matroska from GStreamer's matroskamux in streamable mode: unknown-size Segment and Clusters. */
export async function gstMkv(opts: GstOptions = {}): Promise<Buffer> {
  return readFile(await gstMkvFile(opts));
}

export async function gstMkvFile(opts: GstOptions = {}): Promise<string> {
  const { frames = 250, gop = 50 } = opts;
  const args = [
    '-q',
    'videotestsrc',
    `num-buffers=${frames}`,
    'pattern=ball',
    '!',
    'video/x-raw,width=640,height=360,framerate=25/1',
    '!',
    'x264enc',
    `key-int-max=${gop}`,
    'tune=zerolatency',
    'speed-preset=veryfast',
    'bitrate=500',
    `option-string=scenecut=0:min-keyint=${gop}`,
    '!',
    'video/x-h264,stream-format=avc,alignment=au,profile=baseline',
    '!',
    'matroskamux',
    'streamable=true',
    '!',
    'fdsink',
    'fd=1',
  ];
  return cached('gst-launch-1.0', args);
}

/** The cache file of a command line, and a writer: runs it once, under a unique name, then renames it in place. */
async function cachedRun(command: string, args: string[], write: (partial: string) => Promise<void>): Promise<string> {
  mkdirSync(CACHE_DIR, { recursive: true });
  const key = createHash('sha256')
    .update(JSON.stringify([command, ...args]))
    .digest('hex')
    .slice(0, 16);
  const file = join(CACHE_DIR, `${command}-${key}.mkv`);
  if (existsSync(file) && statSync(file).size > 0) return file;
  // Test files run in parallel processes: write under a unique name, then rename atomically.
  const partial = `${file}.${process.pid}.partial.mkv`;
  await write(partial);
  renameSync(partial, file);
  return file;
}

/** Runs `command args`, stderr kept for the error; rejects unless it exits 0. */
function spawnChecked(command: string, args: string[], stdout: 'ignore' | number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', stdout, 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (data: Buffer) => (stderr += data.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} exited with ${code}: ${stderr}`));
    });
  });
}

/** Runs `command args` once with stdout to a file in the cache, keyed by the command line. */
export function cached(command: string, args: string[]): Promise<string> {
  return cachedRun(command, args, async (partial) => {
    const out = openSync(partial, 'w');
    try {
      await spawnChecked(command, args, out);
    } finally {
      closeSync(out);
    }
  });
}

/**
 * ffmpeg `args OUTPUT` once, OUTPUT a file in the cache: unlike stdout, a file ffmpeg can seek in, so the
 * muxer writes known sizes and cues (what a recorded file looks like).
 */
export function cachedFfmpegFile(args: string[]): Promise<string> {
  return cachedRun('ffmpeg', args, (partial) => spawnChecked('ffmpeg', [...args, partial], 'ignore'));
}

export interface MkvinfoFrame {
  track: number;
  keyframe: boolean;
  /** Absolute timestamp in nanoseconds. */
  timestampNs: number;
  /** Bytes of frame data (sum over laced frames). */
  size: number;
}

export interface MkvinfoCluster {
  /** Input offset of the Cluster's ID. */
  offset: number;
  /** Total bytes (ID + size field + payload), or undefined for an unknown-size Cluster. */
  size: number | undefined;
  timestampNs: number | undefined;
  /** The SimpleBlocks mkvinfo lists in this Cluster. */
  frames: MkvinfoFrame[];
}

/** The Clusters of an MKV file as mkvinfo (MKVToolNix) reports them. */
export async function mkvinfoClusters(file: string): Promise<MkvinfoCluster[]> {
  // -a: all clusters (plain mkvinfo stops after the first); -v -v: positions; -z: sizes.
  const { stdout } = await promisify(execFile)('mkvinfo', ['-a', '-v', '-v', '-z', file], {
    maxBuffer: 256 * 1024 * 1024,
  });
  const clusters: MkvinfoCluster[] = [];
  let frame: MkvinfoFrame | undefined;
  for (const line of stdout.split('\n')) {
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^\|\+ Cluster at (\d+) (?:size (\d+) |size is unknown)/))) {
      clusters.push({
        offset: Number(m[1]),
        size: m[2] === undefined ? undefined : Number(m[2]),
        timestampNs: undefined,
        frames: [],
      });
    } else if ((m = line.match(/^\| \+ Cluster timestamp: ([\d:.]+)/))) {
      clusters.at(-1)!.timestampNs = parseTimestamp(m[1]);
    } else if (
      (m = line.match(/^\| \+ Simple block: (key, )?track number (\d+), \d+ frame\(s\), timestamp ([\d:.]+)/))
    ) {
      frame = { track: Number(m[2]), keyframe: m[1] !== undefined, timestampNs: parseTimestamp(m[3]), size: 0 };
      clusters.at(-1)!.frames.push(frame);
    } else if ((m = line.match(/^\| {2}\+ Frame at \d+ size (\d+)/)) && frame) {
      frame.size += Number(m[1]);
    } else if (!line.startsWith('|  ')) {
      frame = undefined; // any other element at level 0 to 2 (Frame lines are at level 3)
    }
  }
  return clusters;
}

/** "00:00:02.040000000" → nanoseconds. */
function parseTimestamp(text: string): number {
  const [h, m, s] = text.split(':');
  const [whole, fraction = ''] = s.split('.');
  return ((Number(h) * 60 + Number(m)) * 60 + Number(whole)) * 1e9 + Number(fraction.padEnd(9, '0'));
}

/** Splits buf into chunks of 1..maxChunk bytes, the same ones for the same seed. */
export function splitRandom(buf: Buffer, seed: number, maxChunk: number): Buffer[] {
  const random = mulberry32(seed);
  const chunks: Buffer[] = [];
  for (let pos = 0; pos < buf.length; ) {
    const n = 1 + Math.floor(random() * maxChunk);
    chunks.push(buf.subarray(pos, pos + n));
    pos += n;
  }
  return chunks;
}

/** A small deterministic PRNG (mulberry32) returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
