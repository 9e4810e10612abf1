/**
 * HLS playlists shaped like the ones KVS serves (tags, their order, EXTINF precision, URL layout): a master
 * playlist naming one media playlist per track (video, and AAC audio as a rendition group for fMP4), and
 * media playlists of one segment per fragment. Pure text: the session resources give the fragments.
 */
import type { Track } from './media.js';

export interface PlaylistSegment {
  fragmentNumber: string;
  /** The selected timestamp of the fragment's start (producer or server), ms. */
  startMs: number;
  /** Seconds of media: up to the next fragment's start, or the fragment's own length before a gap. */
  durationMs: number;
  /** Identifies the fragment's codec data: a new value starts a new init segment (EXT-X-MAP). */
  codecKey: number;
  /** An EXT-X-DISCONTINUITY goes before this segment. */
  discontinuity: boolean;
}

export interface MediaPlaylist {
  /** 'fmp4': one track per playlist with EXT-X-MAP; 'ts': all tracks in each segment. */
  container: 'fmp4' | 'ts';
  token: string;
  trackNumber: number;
  segments: PlaylistSegment[];
  mediaSequence: number;
  /** EXT-X-DISCONTINUITY-SEQUENCE, when the session knows it (DiscontinuityMode ALWAYS). */
  discontinuitySequence?: number;
  /** ON_DEMAND: #EXT-X-PLAYLIST-TYPE:VOD. */
  vod: boolean;
  /** No segment will be added: #EXT-X-ENDLIST. */
  ended: boolean;
  programDateTime: boolean;
}

/** Seconds with at most three decimals, trailing zeros dropped ("2.68", "2"). */
export const seconds = (ms: number) => (ms / 1000).toFixed(3).replace(/\.?0+$/, '');

const q = (token: string) => `SessionToken=${token}`;

export function mediaPlaylist(p: MediaPlaylist): string {
  const longest = Math.max(1, ...p.segments.map((s) => Math.ceil(Number(seconds(s.durationMs)))));
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${p.container === 'fmp4' ? 7 : 3}`];
  if (p.vod) lines.push('#EXT-X-PLAYLIST-TYPE:VOD');
  lines.push(`#EXT-X-TARGETDURATION:${longest}`, `#EXT-X-MEDIA-SEQUENCE:${p.mediaSequence}`);
  if (p.discontinuitySequence !== undefined) lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${p.discontinuitySequence}`);
  lines.push('#EXT-X-INDEPENDENT-SEGMENTS');
  let codecKey: number | undefined;
  for (const s of p.segments) {
    const newCodec = s.codecKey !== codecKey;
    // A change of codec data is a discontinuity whatever the mode: the decoder must be reset.
    if (s.discontinuity || (newCodec && codecKey !== undefined)) lines.push('#EXT-X-DISCONTINUITY');
    if (newCodec && p.container === 'fmp4') {
      lines.push(
        `#EXT-X-MAP:URI="getMP4InitFragment.mp4?${q(p.token)}&TrackNumber=${p.trackNumber}&SequenceNumber=${s.codecKey}"`,
      );
    }
    codecKey = s.codecKey;
    if (p.programDateTime) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.startMs).toISOString()}`);
    lines.push(`#EXTINF:${seconds(s.durationMs)},`);
    lines.push(
      p.container === 'fmp4'
        ? `getMP4MediaFragment.mp4?FragmentNumber=${s.fragmentNumber}&${q(p.token)}&TrackNumber=${p.trackNumber}`
        : `getTSFragment.ts?FragmentNumber=${s.fragmentNumber}&${q(p.token)}`,
    );
  }
  if (p.ended) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

export interface MasterPlaylist {
  container: 'fmp4' | 'ts';
  token: string;
  tracks: Track[];
  /** Peak bits per second over the listed fragments. */
  bandwidth: number;
}

export function masterPlaylist(p: MasterPlaylist): string {
  const video = p.tracks.find((t) => t.kind === 'video');
  const audio = p.tracks.filter((t) => t.kind === 'audio');
  const main = video ?? audio[0]!;
  const lines = ['#EXTM3U', '#EXT-X-VERSION:1'];
  const separateAudio = p.container === 'fmp4' && video !== undefined && audio.length > 0;
  if (separateAudio) {
    lines.push(
      `#EXT-X-MEDIA:AUTOSELECT=YES,FORCED=NO,TYPE=AUDIO,URI="getHLSMediaPlaylist.m3u8?${q(p.token)}&TrackNumber=${audio[0]!.number}",GROUP-ID="audio",DEFAULT=NO,NAME="audio"`,
    );
  }
  const codecs = [main, ...(video ? audio.slice(0, 1) : [])].map((t) => t.codecString).join(',');
  const attributes = [`CODECS="${codecs}"`];
  if (video?.width && video.height) attributes.push(`RESOLUTION=${video.width}x${video.height}`);
  attributes.push(`BANDWIDTH=${Math.max(1, Math.round(p.bandwidth))}`);
  if (separateAudio) attributes.push('AUDIO="audio"');
  lines.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`);
  lines.push(`getHLSMediaPlaylist.m3u8?${q(p.token)}&TrackNumber=${main.number}`);
  return `${lines.join('\n')}\n`;
}
