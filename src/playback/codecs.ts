/**
 * Codec data: what the muxers and playlists need from CodecPrivate (RFC 6381 codecs strings, the NAL length
 * size, AAC's sample rate and channels), checked so that a bad record is InvalidCodecPrivateData up front
 * rather than a player failing later.
 */
import { type Codec, MediaError } from './media.js';

/** MKV CodecIDs kvsd packages; anything else is UnsupportedStreamMediaType. */
export const CODEC_IDS: Record<string, Codec> = {
  'V_MPEG4/ISO/AVC': 'avc',
  'V_MPEGH/ISO/HEVC': 'hevc',
  A_AAC: 'aac',
};

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** avcC (ISO 14496-15 AVCDecoderConfigurationRecord): version 1, profile, compatibility, level, length size. */
export function parseAvcC(avcC: Buffer): {
  profile: number;
  compat: number;
  level: number;
  nalLengthSize: number;
  sps: Buffer[];
  pps: Buffer[];
} {
  const bad = (why: string) =>
    new MediaError('InvalidCodecPrivateData', `the H.264 codec private data is invalid: ${why}`);
  if (avcC.length < 7 || avcC[0] !== 1) throw bad('not an AVCDecoderConfigurationRecord');
  const nalLengthSize = (avcC[4]! & 3) + 1;
  if (nalLengthSize === 3) throw bad('NAL length size 3');
  const sps: Buffer[] = [];
  const pps: Buffer[] = [];
  let pos = 5;
  const take = (into: Buffer[], count: number) => {
    for (let i = 0; i < count; i++) {
      if (pos + 2 > avcC.length) throw bad('truncated parameter set');
      const n = avcC.readUInt16BE(pos);
      if (pos + 2 + n > avcC.length || n === 0) throw bad('truncated parameter set');
      into.push(avcC.subarray(pos + 2, pos + 2 + n));
      pos += 2 + n;
    }
  };
  take(sps, avcC[pos++]! & 0x1f);
  if (pos >= avcC.length) throw bad('no picture parameter sets');
  take(pps, avcC[pos++]!);
  if (sps.length === 0 || pps.length === 0) throw bad('no SPS or no PPS');
  return { profile: avcC[1]!, compat: avcC[2]!, level: avcC[3]!, nalLengthSize, sps, pps };
}

/** hvcC (HEVCDecoderConfigurationRecord): the general profile fields and the parameter-set arrays. */
export function parseHvcC(hvcC: Buffer): { codecString: string; nalLengthSize: number; parameterSets: Buffer[] } {
  const bad = (why: string) =>
    new MediaError('InvalidCodecPrivateData', `the H.265 codec private data is invalid: ${why}`);
  if (hvcC.length < 23 || hvcC[0] !== 1) throw bad('not an HEVCDecoderConfigurationRecord');
  const space = hvcC[1]! >> 6;
  const tier = (hvcC[1]! >> 5) & 1;
  const profile = hvcC[1]! & 0x1f;
  const compat = hvcC.readUInt32BE(2);
  let reversed = 0;
  for (let i = 0; i < 32; i++) if (compat & (1 << i)) reversed |= 1 << (31 - i);
  const constraints = [...hvcC.subarray(6, 12)];
  while (constraints.length > 0 && constraints[constraints.length - 1] === 0) constraints.pop();
  const level = hvcC[12]!;
  const nalLengthSize = (hvcC[21]! & 3) + 1;
  const parameterSets: Buffer[] = [];
  let pos = 23;
  for (let a = 0, arrays = hvcC[22]!; a < arrays; a++) {
    if (pos + 3 > hvcC.length) throw bad('truncated parameter-set array');
    const count = hvcC.readUInt16BE(pos + 1);
    pos += 3;
    for (let i = 0; i < count; i++) {
      if (pos + 2 > hvcC.length) throw bad('truncated parameter set');
      const n = hvcC.readUInt16BE(pos);
      if (pos + 2 + n > hvcC.length) throw bad('truncated parameter set');
      parameterSets.push(hvcC.subarray(pos + 2, pos + 2 + n));
      pos += 2 + n;
    }
  }
  const prefix = ['', 'A', 'B', 'C'][space]!;
  const codecString = [
    'hvc1',
    `${prefix}${profile}`,
    (reversed >>> 0).toString(16),
    `${tier ? 'H' : 'L'}${level}`,
    ...(constraints.length ? constraints.map((c) => c.toString(16).toUpperCase()) : ['B0']),
  ].join('.');
  return { codecString, nalLengthSize, parameterSets };
}

const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** AudioSpecificConfig: object type, sample rate and channel configuration. */
export function parseAudioSpecificConfig(asc: Buffer): {
  objectType: number;
  sampleRate: number;
  channels: number;
  rateIndex: number;
} {
  const bad = (why: string) =>
    new MediaError('InvalidCodecPrivateData', `the AAC codec private data is invalid: ${why}`);
  if (asc.length < 2) throw bad('shorter than 2 bytes');
  const objectType = asc[0]! >> 3;
  const rateIndex = ((asc[0]! & 7) << 1) | (asc[1]! >> 7);
  const channels = (asc[1]! >> 3) & 0xf;
  if (objectType === 0 || objectType === 31) throw bad(`audio object type ${objectType}`);
  if (rateIndex >= AAC_RATES.length) throw bad(`sampling frequency index ${rateIndex}`);
  return { objectType, sampleRate: AAC_RATES[rateIndex]!, channels, rateIndex };
}

/** The RFC 6381 codecs string of a track's codec data; throws InvalidCodecPrivateData. */
export function codecString(codec: Codec, codecPrivate: Buffer): string {
  if (codec === 'avc') {
    const { profile, compat, level } = parseAvcC(codecPrivate);
    return `avc1.${hex2(profile)}${hex2(compat)}${hex2(level)}`;
  }
  if (codec === 'hevc') return parseHvcC(codecPrivate).codecString;
  return `mp4a.40.${parseAudioSpecificConfig(codecPrivate).objectType}`;
}
