// needs: ffmpeg
// What the MPEG-TS tests feed tsSegment and how they look at what it writes: real MKV from ffmpeg (cached
// across runs) split into the track header and one Cluster per fragment, as the archive stores them; an
// independent reading of the TS packets (PSI, PES, PCR); ffprobe and ffmpeg as the decoding oracle.

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { fragmentSamples, parseTracks } from '../../src/playback/demux.js';
import type { TrackMedia } from '../../src/playback/media.js';
import { run } from '../helpers/cli.js';
import { cachedFfmpegFile } from '../helpers/media.js';
import { splitMkv } from './mkvSource.js';

export { run };

export interface SourceOptions {
  video?: 'h264' | 'hevc' | 'none';
  audio?: boolean;
  seconds?: number;
  size?: string;
  fps?: number;
  /** Key frame interval in frames: ffmpeg starts a Cluster (our fragment) at each key frame. */
  gop?: number;
  /** x264 preset (the tests' default is x264's own, medium). */
  preset?: string;
  /** Temporal noise over the test pattern: camera-like bitrates instead of a pattern that compresses away. */
  noise?: boolean;
}

/** An MKV file made by ffmpeg from test sources, cached by its command line. */
export async function mkvFile(opts: SourceOptions = {}): Promise<string> {
  const { video = 'h264', audio = true, seconds = 3, size = '320x240', fps = 25, gop = 25 } = opts;
  const args = ['-hide_banner', '-loglevel', 'error', '-y'];
  const noise = opts.noise ? ',noise=alls=12:allf=t' : '';
  if (video !== 'none') args.push('-f', 'lavfi', '-i', `testsrc=size=${size}:rate=${fps}${noise}`);
  if (audio) args.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000');
  args.push('-t', String(seconds));
  if (video === 'h264') args.push('-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-g', String(gop), '-bf', '2');
  if (video === 'h264' && opts.preset) args.push('-preset', opts.preset);
  // Closed GOPs (x265 opens them by default), so that every fragment decodes on its own as with x264.
  if (video === 'hevc') {
    args.push('-pix_fmt', 'yuv420p', '-c:v', 'libx265', '-g', String(gop), '-bf', '2');
    args.push('-x265-params', 'log-level=error:open-gop=0');
  }
  if (audio) args.push('-c:a', 'aac');
  return cachedFfmpegFile([...args, '-f', 'matroska']);
}

/** A source's fragments as tsSegment takes them, timestamps moved to `epochMs` (KVS keeps producer epochs). */
export async function fragments(opts: SourceOptions, epochMs: number): Promise<TrackMedia[][]> {
  const { infoAndTracks, clusters } = splitMkv(await readFile(await mkvFile(opts)));
  const set = parseTracks(infoAndTracks);
  return clusters.map((cluster) =>
    fragmentSamples(cluster, set).map(({ track, samples }) => ({
      track,
      samples: samples.map((s) => ({ ...s, dts: s.dts + epochMs, pts: s.pts + epochMs })),
    })),
  );
}

export interface ProbePacket {
  codec_type: 'video' | 'audio';
  pts?: number;
  dts?: number;
  flags: string;
}

export interface ProbeFrame {
  media_type: 'video' | 'audio';
  pts?: number;
  key_frame: number;
}

/** ffprobe's packets and decoded frames of a TS file, and what it wrote on stderr. */
export async function ffprobe(file: string): Promise<{ packets: ProbePacket[]; frames: ProbeFrame[]; stderr: string }> {
  const { stdout, stderr } = await promisify(execFile)(
    'ffprobe',
    ['-v', 'error', '-show_packets', '-show_frames', '-of', 'json', file],
    { maxBuffer: 256 * 1024 * 1024 },
  );
  const items = (JSON.parse(stdout).packets_and_frames ?? []) as ((ProbePacket | ProbeFrame) & { type: string })[];
  return {
    packets: items.filter((i) => i.type === 'packet') as ProbePacket[],
    frames: items.filter((i) => i.type === 'frame') as ProbeFrame[],
    stderr,
  };
}

// ---- An independent reading of the transport stream ----

export interface TsPacket {
  pid: number;
  start: boolean;
  cc: number;
  hasPayload: boolean;
  discontinuity: boolean;
  randomAccess: boolean;
  /** PCR in 27 MHz units. */
  pcr?: number;
  payload: Buffer;
}

/** The packets of a TS buffer; throws unless every one is 188 bytes starting with the sync byte. */
export function tsPackets(ts: Buffer): TsPacket[] {
  if (ts.length % 188 !== 0) throw new Error(`${ts.length} bytes is not a whole number of packets`);
  const packets: TsPacket[] = [];
  for (let pos = 0; pos < ts.length; pos += 188) {
    const p = ts.subarray(pos, pos + 188);
    if (p[0] !== 0x47) throw new Error(`no sync byte at ${pos}`);
    const control = (p[3]! >> 4) & 3;
    let payloadStart = 4;
    const packet: TsPacket = {
      pid: ((p[1]! & 0x1f) << 8) | p[2]!,
      start: (p[1]! & 0x40) !== 0,
      cc: p[3]! & 15,
      hasPayload: (control & 1) !== 0,
      discontinuity: false,
      randomAccess: false,
      payload: Buffer.alloc(0),
    };
    if (control & 2) {
      const length = p[4]!;
      payloadStart = 5 + length;
      if (length > 0) {
        const flags = p[5]!;
        packet.discontinuity = (flags & 0x80) !== 0;
        packet.randomAccess = (flags & 0x40) !== 0;
        if (flags & 0x10) {
          const base = p.readUInt32BE(6) * 2 + (p[10]! >> 7);
          packet.pcr = base * 300 + ((p[10]! & 1) << 8) + p[11]!;
        }
      }
    }
    if (packet.hasPayload) packet.payload = p.subarray(payloadStart);
    packets.push(packet);
  }
  return packets;
}

/** CRC-32/MPEG-2 bit by bit (not the muxer's table): over a section including its CRC it is 0. */
export function crc32(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    crc ^= byte << 24;
    for (let k = 0; k < 8; k++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
    crc >>>= 0;
  }
  return crc;
}

/** The PSI section a packet starts (pointer_field 0 assumed), checked for its CRC. */
export function section(packet: TsPacket): Buffer {
  const p = packet.payload;
  const start = 1 + p[0]!;
  const length = ((p[start + 1]! & 0x0f) << 8) | p[start + 2]!;
  const s = p.subarray(start, start + 3 + length);
  if (crc32(s) !== 0) throw new Error(`bad CRC in the section of PID ${packet.pid}`);
  return s;
}

export interface Pmt {
  pcrPid: number;
  streams: { type: number; pid: number }[];
}

export function parsePmt(s: Buffer): Pmt {
  const infoLength = ((s[10]! & 0x0f) << 8) | s[11]!;
  const streams: Pmt['streams'] = [];
  for (let pos = 12 + infoLength; pos < s.length - 4; ) {
    streams.push({ type: s[pos]!, pid: ((s[pos + 1]! & 0x1f) << 8) | s[pos + 2]! });
    pos += 5 + (((s[pos + 3]! & 0x0f) << 8) | s[pos + 4]!);
  }
  return { pcrPid: ((s[8]! & 0x1f) << 8) | s[9]!, streams };
}

export interface Pes {
  pid: number;
  streamId: number;
  /** PES_packet_length as written (0: unbounded, video). */
  length: number;
  pts: number;
  dts: number;
  randomAccess: boolean;
  data: Buffer;
}

const timestamp = (b: Buffer, pos: number) =>
  ((b[pos]! >> 1) & 7) * 2 ** 30 +
  (b[pos + 1]! << 22) +
  ((b[pos + 2]! >> 1) << 15) +
  (b[pos + 3]! << 7) +
  (b[pos + 4]! >> 1);

/** The PES of one PID, reassembled from its packets' payloads. */
export function pesOf(packets: TsPacket[], pid: number): Pes[] {
  const out: Pes[] = [];
  let parts: Buffer[] = [];
  let randomAccess = false;
  const flush = () => {
    if (parts.length === 0) return;
    const b = Buffer.concat(parts);
    if (b[0] !== 0 || b[1] !== 0 || b[2] !== 1) throw new Error(`PID ${pid}: a PES without a start code`);
    const flags = b[7]!;
    const pts = flags & 0x80 ? timestamp(b, 9) : Number.NaN;
    out.push({
      pid,
      streamId: b[3]!,
      length: b.readUInt16BE(4),
      pts,
      dts: flags & 0x40 ? timestamp(b, 14) : pts,
      randomAccess,
      data: b.subarray(9 + b[8]!),
    });
  };
  for (const p of packets) {
    if (p.pid !== pid || !p.hasPayload) continue;
    if (p.start) {
      flush();
      parts = [];
      randomAccess = p.randomAccess;
    }
    parts.push(p.payload);
  }
  flush();
  return out;
}

/** The NAL units of an Annex B byte stream (3- or 4-byte start codes). */
export function annexB(data: Buffer): Buffer[] {
  const starts: { at: number; code: number }[] = [];
  for (let i = 0; i + 2 < data.length; i++) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      starts.push({ at: i + 3, code: i > 0 && data[i - 1] === 0 ? 4 : 3 });
      i += 2;
    }
  }
  return starts.map((s, k) =>
    data.subarray(s.at, k + 1 < starts.length ? starts[k + 1]!.at - starts[k + 1]!.code : data.length),
  );
}
