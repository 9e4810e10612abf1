/**
 * MPEG-TS for HLS (GetTSFragment): one self-contained segment per KVS fragment. Players fetch segments
 * independently, in any order, and may start at any of them, so a segment depends on nothing but its
 * fragment: it opens with PAT and PMT, every PID's continuity counter starts at 0 (the first packet of each
 * PID says so with discontinuity_indicator, so that a demuxer reading segments back to back, as ffmpeg's HLS
 * demuxer does, does not flag the join as corruption), and key frames carry their parameter sets in band.
 *
 * Timestamps are the fragment's epoch milliseconds times 90, modulo 2^33: they wrap every ~26.5 hours, and
 * players handle the rollover relative to the first segment they read (as for any long-running broadcast).
 */
import { parseAudioSpecificConfig, parseAvcC, parseHvcC } from './codecs.js';
import { MediaError, type Sample, type Track, type TrackMedia } from './media.js';

const PACKET = 188;
const PAYLOAD = 184;
const PMT_PID = 0x1000;
const VIDEO_PID = 0x100;
/** The first audio track; further audio tracks take the PIDs after it. */
const AUDIO_PID = 0x101;
const PROGRAM = 1;
const WRAP = 2 ** 33;
/** PCRs at most this far apart (ISO 13818-1 allows 100 ms; the slack covers players that expect ~40). */
const PCR_EVERY_MS = 40;
/**
 * PCR runs this far behind the decode times, so that a frame's bytes have arrived (in the T-STD model) by
 * the time it is to be decoded, rather than arriving after it.
 */
const PCR_LEAD_MS = 100;
/** Audio frames per PES: up to ffmpeg's default payload size and a short span, so audio stays interleaved. */
const AUDIO_PES_BYTES = 2930;
const AUDIO_PES_MS = 100;

const STREAM_TYPE = { avc: 0x1b, hevc: 0x24, aac: 0x0f } as const;
const START = Buffer.from([0, 0, 0, 1]);
// Access unit delimiters that admit any picture type: H.264 primary_pic_type 7, H.265 pic_type 2.
const AUD = { avc: Buffer.from([0x09, 0xf0]), hevc: Buffer.from([0x46, 0x01, 0x50]) };

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    table[i] = c >>> 0;
  }
  return table;
})();

/** CRC-32/MPEG-2 (PSI sections): polynomial 0x04C11DB7, not reflected, initial value all ones, no final xor. */
function crc32Mpeg2(buf: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of buf) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  return crc;
}

/** Milliseconds to the 33-bit 90 kHz clock of PTS, DTS and PCR bases. */
const ticks = (ms: number) => ((Math.round(ms * 90) % WRAP) + WRAP) % WRAP;

/**
 * A PSI section (given without its CRC) alone in one packet, 0xFF filling the rest. Its adaptation field
 * holds only discontinuity_indicator: every segment restarts the counters of PAT and PMT too.
 */
function psiPacket(pid: number, section: number[]): Buffer {
  const packet = Buffer.alloc(PACKET, 0xff);
  packet.set([0x47, 0x40 | (pid >> 8), pid & 0xff, 0x30, 1, 0x80, 0], 0); // ..., pointer_field 0
  const body = Buffer.from(section);
  body.writeUInt16BE(0xb000 | (section.length + 1), 1); // section_length counts what follows it, CRC included
  body.copy(packet, 7);
  packet.writeUInt32BE(crc32Mpeg2(body), 7 + body.length);
  return packet;
}

function pat(): Buffer {
  // table 0, transport_stream_id 1, version 0 (current), section 0 of 0; then the one program and its PMT.
  const section = [0x00, 0, 0, 0, 1, 0xc1, 0, 0];
  section.push(PROGRAM >> 8, PROGRAM & 0xff, 0xe0 | (PMT_PID >> 8), PMT_PID & 0xff);
  return psiPacket(0, section);
}

function pmt(pcrPid: number, streams: { type: number; pid: number }[]): Buffer {
  const section = [0x02, 0, 0, PROGRAM >> 8, PROGRAM & 0xff, 0xc1, 0, 0, 0xe0 | (pcrPid >> 8), pcrPid & 0xff, 0xf0, 0];
  for (const s of streams) section.push(s.type, 0xe0 | (s.pid >> 8), s.pid & 0xff, 0xf0, 0);
  return psiPacket(PMT_PID, section);
}

/** A PTS or DTS field: 4-bit prefix, then 33 bits split 3/15/15 with marker bits. */
function writeTimestamp(buf: Buffer, pos: number, prefix: number, t: number): void {
  const low = t % 2 ** 30;
  buf[pos] = (prefix << 4) | ((Math.floor(t / 2 ** 30) & 7) << 1) | 1;
  buf[pos + 1] = (low >> 22) & 0xff;
  buf[pos + 2] = ((low >> 14) & 0xfe) | 1;
  buf[pos + 3] = (low >> 7) & 0xff;
  buf[pos + 4] = ((low << 1) & 0xfe) | 1;
}

function pesHeader(streamId: number, pts: number, dts: number, payloadLength: number | undefined): Buffer {
  const withDts = dts !== pts;
  const header = Buffer.alloc(withDts ? 19 : 14);
  header.set([0, 0, 1, streamId], 0);
  const length = payloadLength === undefined ? 0 : header.length - 6 + payloadLength;
  if (length > 0xffff) throw new Error('audio PES over 64 KiB'); // grouping keeps it far below
  header.writeUInt16BE(length, 4);
  // '10', data_alignment_indicator (a PES starts with an AUD or an ADTS header), PTS [and DTS].
  header.set([0x84, withDts ? 0xc0 : 0x80, withDts ? 10 : 5], 6);
  writeTimestamp(header, 9, withDts ? 3 : 2, pts);
  if (withDts) writeTimestamp(header, 14, 1, dts);
  return header;
}

/** One PES, or a bare PCR (no header, no chunks), at its place in the segment's timeline. */
interface Unit {
  pid: number;
  /** Decode time, ms: the order of units, and the PCR when this unit carries one. */
  at: number;
  chunks: Buffer[];
  size: number;
  key: boolean;
  pcr: boolean;
}

/** Length-prefixed NAL units to an Annex B access unit: AUD first, parameter sets before a key frame's slices. */
function videoChunks(sample: Sample, hevc: boolean, lengthSize: number, parameterSets: Buffer[]): Buffer[] {
  const data = sample.data;
  const nals: Buffer[] = [];
  let inBand = false;
  for (let pos = 0; pos < data.length; ) {
    if (pos + lengthSize > data.length) throw new MediaError('InvalidMediaFrame', 'a NAL length prefix is truncated');
    const n = data.readUIntBE(pos, lengthSize);
    pos += lengthSize;
    if (pos + n > data.length) throw new MediaError('InvalidMediaFrame', 'a NAL unit overruns its frame');
    if (n === 0) continue;
    const nal = data.subarray(pos, pos + n);
    pos += n;
    const type = hevc ? (nal[0]! >> 1) & 0x3f : nal[0]! & 0x1f;
    if (type === (hevc ? 35 : 9)) continue; // the producer's own AUD: ours goes first, where it must be
    if (hevc ? type >= 32 && type <= 34 : type === 7 || type === 8) inBand = true;
    nals.push(nal);
  }
  const chunks: Buffer[] = [START, hevc ? AUD.hevc : AUD.avc];
  if (sample.key && !inBand) for (const ps of parameterSets) chunks.push(START, ps);
  for (const nal of nals) chunks.push(START, nal);
  return chunks;
}

function videoUnits(media: TrackMedia, pid: number): Unit[] {
  const hevc = media.track.codec === 'hevc';
  const record = hevc ? parseHvcC(media.track.codecPrivate) : parseAvcC(media.track.codecPrivate);
  // hvcC may also hold SEI (x265 puts its 2 KB settings text there): only VPS, SPS, PPS, in that order.
  const sets =
    'parameterSets' in record
      ? [32, 33, 34].flatMap((type) => record.parameterSets.filter((ps) => ((ps[0]! >> 1) & 0x3f) === type))
      : [...record.sps, ...record.pps];
  return media.samples.map((s) => {
    const chunks = [
      pesHeader(0xe0, ticks(s.pts), ticks(s.dts), undefined),
      ...videoChunks(s, hevc, record.nalLengthSize, sets),
    ];
    return { pid, at: s.dts, chunks, size: chunks.reduce((n, c) => n + c.length, 0), key: s.key, pcr: false };
  });
}

/** AAC in TS is ADTS: a 7-byte header (no CRC) before each raw frame, from the AudioSpecificConfig. */
function audioUnits(media: TrackMedia, pid: number, streamId: number): Unit[] {
  const asc = parseAudioSpecificConfig(media.track.codecPrivate);
  // ADTS profiles are object types 1-4; HE-AAC (SBR, PS) is signalled implicitly over its AAC-LC core.
  const objectType = asc.objectType === 5 || asc.objectType === 29 ? 2 : asc.objectType;
  if (objectType > 4) {
    throw new MediaError('UnsupportedStreamMediaType', `AAC object type ${asc.objectType} cannot be carried in ADTS`);
  }
  const fixed = [0xff, 0xf1, ((objectType - 1) << 6) | (asc.rateIndex << 2) | ((asc.channels >> 2) & 1)];
  const adts = (data: Buffer): Buffer[] => {
    const length = data.length + 7;
    if (length > 0x1fff) throw new MediaError('InvalidMediaFrame', `an AAC frame of ${data.length} bytes is too long`);
    const header = Buffer.from([
      ...fixed,
      ((asc.channels & 3) << 6) | (length >> 11),
      (length >> 3) & 0xff,
      ((length & 7) << 5) | 0x1f,
      0xfc,
    ]);
    return [header, data];
  };
  const units: Unit[] = [];
  const samples = media.samples;
  for (let i = 0; i < samples.length; ) {
    const first = samples[i]!;
    const frames: Buffer[] = [];
    let size = 0;
    do {
      const s = samples[i++]!;
      frames.push(...adts(s.data));
      size += s.data.length + 7;
    } while (
      i < samples.length &&
      size + samples[i]!.data.length + 7 <= AUDIO_PES_BYTES &&
      samples[i]!.dts - first.dts < AUDIO_PES_MS
    );
    const header = pesHeader(streamId, ticks(first.pts), ticks(first.dts), size);
    units.push({ pid, at: first.dts, chunks: [header, ...frames], size: size + header.length, key: true, pcr: false });
  }
  return units;
}

/**
 * Orders the units by decode time and gives the PCR PID its clock: a PCR in each of its PES, and a bare PCR
 * packet first when another PID's data comes first and wherever its own PES are more than PCR_EVERY_MS apart
 * (low frame rates, audio-only fragments, or a video track without frames in this fragment).
 */
function schedule(units: Unit[], pcrPid: number): Unit[] {
  const rank = (u: Unit) => (u.pid === pcrPid ? 0 : 1);
  units.sort((a, b) => a.at - b.at || rank(a) - rank(b));
  const out: Unit[] = [];
  let last: number | undefined;
  const bare = (at: number) => out.push({ pid: pcrPid, at, chunks: [], size: 0, key: false, pcr: true });
  for (const u of units) {
    if (last === undefined && u.pid !== pcrPid) bare((last = u.at));
    while (last !== undefined && u.at - last > PCR_EVERY_MS) bare((last += PCR_EVERY_MS));
    if (u.pid === pcrPid) {
      u.pcr = true;
      last = u.at;
    }
    out.push(u);
  }
  return out;
}

/** Packs units into 188-byte packets in one preallocated buffer (sizes are known in advance). */
class Packer {
  readonly out: Buffer;
  pos = 0;
  /** Last continuity counter per PID: 15 so that the first packet with payload counts 0. */
  private readonly cc = new Map<number, number>();

  constructor(packets: number) {
    this.out = Buffer.allocUnsafe(packets * PACKET);
  }

  static packets(u: Unit, first: boolean): number {
    const room = PAYLOAD - adaptationLength(u, first);
    return u.size <= room ? 1 : 1 + Math.ceil((u.size - room) / PAYLOAD);
  }

  copy(packet: Buffer): void {
    packet.copy(this.out, this.pos);
    this.pos += PACKET;
  }

  write(u: Unit): void {
    const seen = this.cc.has(u.pid);
    let cc = this.cc.get(u.pid) ?? 15;
    let chunk = 0;
    let offset = 0;
    let left = u.size;
    let start = true;
    do {
      const out = this.out;
      const p = this.pos;
      const flags = start ? (seen ? 0 : 0x80) | (u.key ? 0x40 : 0) | (u.pcr ? 0x10 : 0) : 0;
      let af = flags ? 2 + (u.pcr ? 6 : 0) : 0;
      const n = Math.min(PAYLOAD - af, left);
      af = PAYLOAD - n; // stuffing fills the adaptation field of the last packet
      if (n > 0) cc = (cc + 1) & 15; // packets without payload do not count
      out[p] = 0x47;
      out[p + 1] = (start && n > 0 ? 0x40 : 0) | (u.pid >> 8);
      out[p + 2] = u.pid & 0xff;
      out[p + 3] = (af > 0 ? 0x20 : 0) | (n > 0 ? 0x10 : 0) | cc;
      let q = p + 4;
      if (af > 0) {
        out[q++] = af - 1;
        if (af > 1) {
          out[q++] = flags;
          if (flags & 0x10) {
            const base = ticks(u.at - PCR_LEAD_MS);
            out.writeUInt32BE(Math.floor(base / 2), q); // the PCR base's top 32 bits
            out[q + 4] = ((base & 1) << 7) | 0x7e; // its last bit, 6 reserved bits, extension 0
            out[q + 5] = 0;
            q += 6;
          }
          out.fill(0xff, q, p + 4 + af);
          q = p + 4 + af;
        }
      }
      for (let want = n; want > 0; ) {
        const c = u.chunks[chunk]!;
        const take = Math.min(want, c.length - offset);
        c.copy(out, q, offset, offset + take);
        q += take;
        want -= take;
        offset += take;
        if (offset === c.length) {
          chunk++;
          offset = 0;
        }
      }
      left -= n;
      this.pos += PACKET;
      start = false;
    } while (left > 0);
    this.cc.set(u.pid, cc);
  }
}

/** The adaptation field a unit's first packet needs before stuffing: flags byte, PCR. */
function adaptationLength(u: Unit, first: boolean): number {
  return first || u.key || u.pcr ? 2 + (u.pcr ? 6 : 0) : 0;
}

/**
 * One fragment's tracks as an MPEG-TS segment: PAT, PMT, then the video (H.264 or H.265, PID 0x100) and audio
 * (AAC in ADTS, PID 0x101 and up) PES interleaved by decode time, the PCR on the video PID (the audio PID
 * when there is no video). Throws MediaError for codec data or frames that cannot be packaged.
 */
export function tsSegment(media: TrackMedia[]): Buffer {
  const video = media.find((m) => m.track.kind === 'video');
  const audio = media.filter((m) => m.track.kind === 'audio');
  const streams: { type: number; pid: number; track: Track }[] = [];
  const units: Unit[] = [];
  if (video) {
    streams.push({ type: STREAM_TYPE[video.track.codec], pid: VIDEO_PID, track: video.track });
    units.push(...videoUnits(video, VIDEO_PID));
  }
  for (const [i, a] of audio.entries()) {
    streams.push({ type: STREAM_TYPE.aac, pid: AUDIO_PID + i, track: a.track });
    units.push(...audioUnits(a, AUDIO_PID + i, 0xc0 + i));
  }
  const pcrPid = streams[0]?.pid ?? 0x1fff; // 0x1FFF: no PCR, for a segment with no track at all
  const ordered = schedule(units, pcrPid);
  const seen = new Set<number>();
  let packets = 2;
  for (const u of ordered) {
    packets += Packer.packets(u, !seen.has(u.pid));
    seen.add(u.pid);
  }
  const packer = new Packer(packets);
  packer.copy(pat());
  packer.copy(pmt(pcrPid, streams));
  for (const u of ordered) packer.write(u);
  if (packer.pos !== packer.out.length) throw new Error('mpegts: packets counted and written differ'); // a bug here
  return packer.out;
}
