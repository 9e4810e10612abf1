/**
 * The media of KVS fragments as the playback muxers take it: tracks with their codec data, and samples in
 * decode order with decode and presentation times in milliseconds (the timescale of every track kvsd
 * writes, as AWS's own clips do: timestamps stay the producer's absolute epoch milliseconds).
 */

export type Codec = 'avc' | 'hevc' | 'aac';

export interface Track {
  /** The MKV TrackNumber (1 for the first track of KVS producers, 2 for audio). */
  number: number;
  kind: 'video' | 'audio';
  /** The MKV CodecID as the producer sent it (V_MPEG4/ISO/AVC, V_MPEGH/ISO/HEVC, A_AAC). */
  codecId: string;
  codec: Codec;
  /** avcC / hvcC record, or AAC AudioSpecificConfig: CodecPrivate byte for byte. */
  codecPrivate: Buffer;
  /** RFC 6381 codecs string (avc1.42c01f, hvc1.1.6.L93.B0, mp4a.40.2). */
  codecString: string;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
  /** Nominal frame duration in ms (MKV DefaultDuration), when the producer gave one. */
  defaultDurationMs?: number;
}

export interface Sample {
  /** Decode time, ms since the epoch (integer). */
  dts: number;
  /** Presentation time, ms since the epoch: the MKV block timecode. */
  pts: number;
  /** Until the next sample's decode time, ms (> 0). */
  duration: number;
  key: boolean;
  /** Video: NAL units with length prefixes (the MKV and MP4 sample format); audio: one raw AAC frame. */
  data: Buffer;
}

/** One track's part of one fragment. */
export interface TrackMedia {
  track: Track;
  samples: Sample[];
}

/** Why a stream's media cannot be packaged; the names are AWS's playback error codes. */
export type MediaErrorCode =
  | 'MissingCodecPrivateData'
  | 'InvalidCodecPrivateData'
  | 'UnsupportedStreamMediaType'
  | 'InvalidMediaFrame';

export class MediaError extends Error {
  constructor(
    readonly code: MediaErrorCode,
    message: string,
  ) {
    super(message);
  }
}
