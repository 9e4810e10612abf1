/**
 * MPEG-DASH manifests shaped like the ones KVS serves: one Period, one AdaptationSet per track, each a
 * SegmentTemplate of `$Number$` URLs with a SegmentTimeline of one `S` per fragment (numbers count the
 * session's fragments from 1), optionally annotated with each fragment's timestamp (`kvs:ts`) and KVS
 * fragment number (`kvs:fn`). Pure text: the session resources give the init and media segments.
 *
 * Times are milliseconds (timescale 1000, the timescale of every fMP4 track kvsd writes). The media
 * timeline of a DASH session is its own, as KVS's is: producer timestamps shifted so that the session's
 * first fragment starts at MEDIA_HEADROOM_MS, and the DASH media segments carry the same shift in their
 * tfdt (a small timeline keeps players' second-based arithmetic exact). The headroom keeps a decode time
 * that precedes the first presentation time (B-frames) positive; the presentationTimeOffset removes it,
 * so a presentation starts at 0.
 */
import type { Track } from './media.js';

/** Where a DASH session's first fragment starts on the session's media timeline, ms. */
export const MEDIA_HEADROOM_MS = 10_000;

/** The shift from producer timestamps to a session's media timeline (add it to a producer timestamp). */
export const mediaShift = (originMs: number) => MEDIA_HEADROOM_MS - originMs;

export interface ManifestSegment {
  /** Media time of the fragment's start: producer timestamp, ms. */
  mediaMs: number;
  durationMs: number;
  /** The selected timestamp (producer or server), for kvs:ts. */
  startMs: number;
  fragmentNumber: string;
}

export interface Manifest {
  token: string;
  tracks: Track[];
  /** The track header the init segments come from (codec data may not change within a DASH session). */
  headerId: number;
  /** `$Number$` of segments[0] (from 1). */
  startNumber: number;
  segments: ManifestSegment[];
  /** The producer timestamp at presentation time 0: the session's first fragment's. */
  originMs: number;
  /** 'static': a fixed presentation (ON_DEMAND, or a LIVE_REPLAY past its end); 'dynamic': it grows. */
  type: 'static' | 'dynamic';
  /** dynamic: the wall-clock time of media time `originMs` (availabilityStartTime). */
  availabilityStartMs?: number;
  /** dynamic: when this manifest was made. */
  publishMs?: number;
  /** Peak bits per second over the listed fragments, per track share. */
  bandwidth: number;
  displayTimestamp: boolean;
  displayNumber: boolean;
}

/** The namespace of the kvs:ts and kvs:fn attributes (KVS does not publish its URI; this one is kvsd's). */
export const KVS_NAMESPACE = 'https://kinesisvideo.amazonaws.com/dash';

/** xs:duration in seconds with millisecond precision ("PT12.345S"). */
export const isoDuration = (ms: number) => `PT${(Math.max(0, ms) / 1000).toFixed(3).replace(/\.?0+$/, '')}S`;

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
const iso = (ms: number) => new Date(ms).toISOString();

function attributes(pairs: [string, string | number | undefined][]): string {
  return pairs
    .filter((p): p is [string, string | number] => p[1] !== undefined)
    .map(([k, v]) => ` ${k}="${xml(String(v))}"`)
    .join('');
}

function timeline(m: Manifest): string[] {
  const lines = ['<SegmentTimeline>'];
  let expected: number | undefined;
  for (const s of m.segments) {
    const t = s.mediaMs + mediaShift(m.originMs);
    lines.push(
      `<S${attributes([
        // `t` only where the timeline does not simply continue from the previous segment.
        ['t', t === expected ? undefined : t],
        ['d', s.durationMs],
        ['kvs:ts', m.displayTimestamp ? iso(s.startMs) : undefined],
        ['kvs:fn', m.displayNumber ? s.fragmentNumber : undefined],
      ])}/>`,
    );
    expected = t + s.durationMs;
  }
  lines.push('</SegmentTimeline>');
  return lines;
}

function adaptationSet(m: Manifest, track: Track, index: number): string[] {
  const q = `SessionToken=${m.token}&TrackNumber=${track.number}`;
  const template = attributes([
    ['timescale', 1000],
    ['presentationTimeOffset', MEDIA_HEADROOM_MS],
    ['startNumber', m.startNumber],
    ['initialization', `getMP4InitFragment.mp4?${q}&SequenceNumber=${m.headerId}`],
    ['media', `getMP4MediaFragment.mp4?${q}&SequenceNumber=$Number$`],
  ]);
  const video = track.kind === 'video';
  const representation = attributes([
    ['id', track.number],
    ['codecs', track.codecString],
    ['bandwidth', Math.max(1, Math.round(m.bandwidth))],
    ['width', video ? track.width : undefined],
    ['height', video ? track.height : undefined],
    ['audioSamplingRate', video ? undefined : track.sampleRate],
  ]);
  return [
    `<AdaptationSet${attributes([
      ['id', index],
      ['contentType', track.kind],
      ['mimeType', `${track.kind}/mp4`],
      ['segmentAlignment', 'true'],
      ['startWithSAP', video ? 1 : undefined],
    ])}>`,
    `<Representation${representation}>`,
    ...(!video && track.channels
      ? [
          `<AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${track.channels}"/>`,
        ]
      : []),
    `<SegmentTemplate${template}>`,
    ...timeline(m),
    '</SegmentTemplate>',
    '</Representation>',
    '</AdaptationSet>',
  ];
}

export function dashManifest(m: Manifest): string {
  const last = m.segments[m.segments.length - 1];
  const end = last ? last.mediaMs - m.originMs + last.durationMs : 0;
  const first = m.segments[0];
  const span = first ? end - (first.mediaMs - m.originMs) : 0;
  const longest = Math.max(1000, ...m.segments.map((s) => s.durationMs));
  const root = attributes([
    ['xmlns', 'urn:mpeg:dash:schema:mpd:2011'],
    ['xmlns:kvs', m.displayTimestamp || m.displayNumber ? KVS_NAMESPACE : undefined],
    ['profiles', 'urn:mpeg:dash:profile:isoff-live:2011'],
    ['type', m.type],
    ['minBufferTime', isoDuration(Math.min(longest, 4000))],
    ...(m.type === 'static'
      ? ([['mediaPresentationDuration', isoDuration(end)]] as [string, string][])
      : ([
          ['availabilityStartTime', iso(m.availabilityStartMs ?? 0)],
          ['publishTime', iso(m.publishMs ?? Date.now())],
          // Players reload about once a fragment; a fragment is the smallest unit that can appear.
          ['minimumUpdatePeriod', isoDuration(Math.min(longest, 2000))],
          ['timeShiftBufferDepth', isoDuration(span)],
          ['suggestedPresentationDelay', isoDuration(Math.min(3 * longest, 10_000))],
        ] as [string, string][])),
  ]);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<MPD${root}>`,
    '<Period id="0" start="PT0S">',
    ...m.tracks.flatMap((t, i) => adaptationSet(m, t, i)),
    '</Period>',
    // Players of dynamic manifests sync their clock to the server's (dash.js asks a public time server
    // otherwise): the server's time, right here.
    ...(m.type === 'dynamic'
      ? [`<UTCTiming schemeIdUri="urn:mpeg:dash:utc:direct:2014" value="${iso(m.publishMs ?? Date.now())}"/>`]
      : []),
    '</MPD>',
  ];
  return `${lines.join('\n')}\n`;
}
