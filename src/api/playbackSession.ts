/**
 * Playback sessions (HLS, DASH): what GetHLSStreamingSessionURL and GetDASHStreamingSessionURL check and
 * seal into a session token, and what the session resources (playlists, manifests, fragments) read back.
 *
 * A token is the session's whole state, encrypted and authenticated under the catalog's token key (opaque,
 * tamper-proof; any node over the catalog opens it), in base64url so that it travels in a query string unescaped. Nothing is stored
 * per session, apart from a cache of playlist positions (src/archive/playback.ts).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Archive } from '../archive/archive.js';
import type { PlaybackMode, SessionSelection } from '../archive/playback.js';
import { LIVE_RECENT_MS } from '../archive/playback.js';
import { decodeTrackHeader } from '../archive/trackHeaders.js';
import { parseTracks, type TrackSet } from '../playback/demux.js';
import { MediaError } from '../playback/media.js';
import { ApiError, invalidArgument } from '../protocol/errors.js';
import type { FragmentRecord, StreamRecord } from '../storage/catalog.js';
import type { Context } from './operation.js';

const TOKEN_KIND = 'playback-session';
const DAY_MS = 24 * 3_600_000;

export type Container = 'FRAGMENTED_MP4' | 'MPEG_TS';
export type Discontinuity = 'ALWAYS' | 'NEVER' | 'ON_DISCONTINUITY';

export interface PlaybackSession {
  /** Random: keys the playlist-position cache, never reused. */
  id: string;
  protocol: 'hls' | 'dash';
  streamId: number;
  selection: SessionSelection;
  expiresMs: number;
  container: Container;
  discontinuity: Discontinuity;
  displayTimestamp: boolean;
  /** DASH: kvs:fn on each segment. */
  displayNumber: boolean;
  /**
   * DASH: the session's first fragment, the origin of its media timeline (producer ms), of its wall-clock
   * mapping (the wall-clock ms at which its media starts), and the codec data of its init segments (codec data may not change in a DASH session).
   */
  origin?: { mediaMs: number; wallMs: number; headerId: number };
}

/** The selector members HLS and DASH share (HLSFragmentSelector, DASHFragmentSelector). */
export const fragmentSelectorShape = {
  type: 'structure',
  members: {
    FragmentSelectorType: { type: 'string', enum: ['PRODUCER_TIMESTAMP', 'SERVER_TIMESTAMP'] },
    TimestampRange: {
      type: 'structure',
      members: { StartTimestamp: { type: 'timestamp' }, EndTimestamp: { type: 'timestamp' } },
    },
  },
} as const;

export interface SelectionInput {
  PlaybackMode?: string;
  selector?: { FragmentSelectorType?: string; TimestampRange?: { StartTimestamp?: number; EndTimestamp?: number } };
  max?: number;
  /** The selector's member name, for messages. */
  selectorName: string;
}

/** The selection a request asks for, by the rules of the KVS API reference; InvalidArgument otherwise. */
export function selectionOf(input: SelectionInput, now: number): Omit<SessionSelection, 'createdMs'> {
  const mode = (input.PlaybackMode ?? 'LIVE') as PlaybackMode;
  const kind = input.selector?.FragmentSelectorType === 'PRODUCER_TIMESTAMP' ? 'producer' : 'server';
  const range = input.selector?.TimestampRange;
  const max = input.max ?? (mode === 'ON_DEMAND' ? 1000 : 5);
  if (mode === 'LIVE') {
    if (range) throw invalidArgument(`${input.selectorName}.TimestampRange must not be set when PlaybackMode is LIVE.`);
    return { mode, kind, startMs: now - LIVE_RECENT_MS, max };
  }
  const start = range?.StartTimestamp;
  const end = range?.EndTimestamp;
  if (start === undefined)
    throw invalidArgument(
      `${input.selectorName}.TimestampRange.StartTimestamp is required when PlaybackMode is ${mode}.`,
    );
  if (mode === 'ON_DEMAND' && end === undefined) {
    throw invalidArgument(
      `${input.selectorName}.TimestampRange.EndTimestamp is required when PlaybackMode is ON_DEMAND.`,
    );
  }
  if (kind === 'server' && start > now) throw invalidArgument('StartTimestamp must be in the past.');
  if (end !== undefined) {
    if (end <= start) throw invalidArgument('EndTimestamp must be after StartTimestamp.');
    if (end - start > DAY_MS) throw invalidArgument('The timestamp range must not be longer than 24 hours.');
  }
  return { mode, kind, startMs: start, ...(end !== undefined && { endMs: end }), max };
}

/** Seals a new session into its token, and counts it against the stream's active sessions. */
export function sealSession(
  ctx: Pick<Context, 'archive' | 'sessions'>,
  operation: string,
  stream: StreamRecord,
  session: Omit<PlaybackSession, 'id' | 'streamId'>,
): string {
  const id = randomBytes(9).toString('base64url');
  ctx.sessions?.issued(operation, stream.name, id);
  return ctx.archive.tokens.encrypt(TOKEN_KIND, { ...session, streamId: stream.id, id });
}

export const sessionExpired = () => new ApiError('NotAuthorizedException', 403, 'Streaming session token is expired');
/** A session past the stream's limit of active sessions: a newer one took its place. */
export const sessionRevoked = () =>
  new ApiError('NotAuthorizedException', 403, 'The streaming session was ended by a newer session on the stream.');
export const sessionInvalid = () =>
  new ApiError('NotAuthorizedException', 403, 'The streaming session token is not valid.');

/** The session a token holds; 403 when it was not made by this catalog's key, was altered or has expired. */
export function openSession(archive: Archive, token: string | null, now = Date.now()): PlaybackSession {
  if (!token || token.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(token)) throw sessionInvalid();
  const session = archive.tokens.decrypt<PlaybackSession>(TOKEN_KIND, token);
  if (!session) throw sessionInvalid();
  if (now >= session.expiresMs) throw sessionExpired();
  return session;
}

/** The pipeline's check of 'session-token' routes: a valid, unexpired token is the caller's credential. */
export function sessionTokenVerifier(archive: () => Archive | undefined) {
  return {
    async verify(token: string | null, _route: unknown, _req: IncomingMessage) {
      const a = archive();
      if (!a) throw new ApiError('ServiceUnavailableException', 503, 'kvsd is starting.');
      const session = openSession(a, token);
      // The token was issued to a caller that GetHLS/DASHStreamingSessionURL authorized for this stream.
      return { name: `session:${session.protocol}`, allows: () => true, session: session.id };
    },
  };
}

/** The session's stream, if it still exists (a deleted stream's sessions end with it). */
export async function sessionStream(archive: Archive, session: PlaybackSession): Promise<StreamRecord> {
  const stream = await archive.catalog.getStream(session.streamId);
  if (!stream) throw new ApiError('ResourceNotFoundException', 404, 'The requested stream is not found or not active.');
  return stream;
}

const TRACK_SETS_MAX = 256;
const trackSets = new Map<string, TrackSet>();

/** The playable tracks of a track header (cached: every fragment of a stream shares a few). */
export async function tracksOf(archive: Archive, stream: StreamRecord, headerId: number): Promise<TrackSet> {
  const key = `${stream.id}/${headerId}`;
  let set = trackSets.get(key);
  if (!set) {
    const blob = await archive.catalog.getTrackHeader(headerId, stream.id);
    if (!blob) throw new ApiError('ResourceNotFoundException', 404, 'The requested codec data is not found.');
    set = parseTracks(decodeTrackHeader(blob).infoAndTracks);
    if (trackSets.size >= TRACK_SETS_MAX) trackSets.delete(trackSets.keys().next().value!);
    trackSets.set(key, set);
  }
  return set;
}

/** A MediaError as the AWS error of the same name (400). */
export function asApiError(err: unknown): unknown {
  if (err instanceof MediaError) return new ApiError(`${err.code}Exception`, 400, err.message);
  return err;
}

/** The bytes of a fragment's cluster, whole (fragments are bounded: 50 MB at most). */
export async function clusterOf(archive: Archive, stream: StreamRecord, f: FragmentRecord): Promise<Buffer> {
  const served = await archive.reader.bySeq(stream, f.seq);
  if (!served) throw new ApiError('ResourceNotFoundException', 404, 'The requested fragment is not found.');
  const chunks: Buffer[] = [];
  for await (const chunk of await served.body()) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A session request checked as AWS checks it: the selection its token carries (LIVE numbers its segments
 * from the first window's first fragment; the other modes from StartTimestamp), its first fragment, and
 * the newest of the first fragments listed (LIVE: of its first window).
 */
export async function startSelection(
  archive: Archive,
  stream: StreamRecord,
  input: SelectionInput,
  now: number,
): Promise<{ selection: SessionSelection; first: FragmentRecord; newest: FragmentRecord }> {
  const selection = selectionOf(input, now);
  const listed = await checkSessionStart(archive, stream, selection, now);
  const first = listed[0]!;
  const live = selection.mode === 'LIVE';
  return {
    selection: {
      ...selection,
      createdMs: now,
      ...(live && {
        startMs: selection.kind === 'producer' ? first.producerMs : first.serverMs,
        anchorSeq: first.seq,
      }),
    },
    first,
    newest: listed[listed.length - 1]!,
  };
}

/** Checks what AWS checks when a session is created: retention, fragments in range, playable codec data. */
export async function checkSessionStart(
  archive: Archive,
  stream: StreamRecord,
  selection: Omit<SessionSelection, 'createdMs'>,
  now: number,
): Promise<FragmentRecord[]> {
  if (stream.retentionHours === 0) {
    throw new ApiError('NoDataRetentionException', 400, 'The stream does not retain data: DataRetentionInHours is 0.');
  }
  const first = await archive.playback.first(stream, selection, now);
  if (first.length === 0) {
    throw new ApiError('ResourceNotFoundException', 404, 'No fragments found in the stream for the streaming request.');
  }
  try {
    await tracksOf(archive, stream, first[0]!.headerId);
  } catch (err) {
    throw asApiError(err);
  }
  return first;
}

/** ON_DISCONTINUITY: a gap or an overlap between fragments larger than this (ms) is a discontinuity. */
const DISCONTINUITY_MS = 50;
/**
 * FragmentLengthInMilliseconds ends at the last frame's start, so consecutive fragments of a continuous
 * stream are one frame apart past it: allow a frame of 15 fps before counting a gap.
 */
const LAST_FRAME_MS = 67;
/** A gap longer than this past a fragment's own length ends its EXTINF there, not at the next fragment. */
const GAP_MS = 1000;

export interface WindowSegment {
  fragment: FragmentRecord;
  fragmentNumber: string;
  startMs: number;
  durationMs: number;
  discontinuity: boolean;
}

/**
 * The segments of a window: each fragment's start in the selected timestamps, its media duration, and its
 * discontinuity flag. Durations and gaps are measured on producer timestamps, the media's own clock:
 * server timestamps say when fragments arrived, which for an upload faster than real time is milliseconds
 * apart. A fragment lasts until the next one starts, or, before a gap and for the last, its own length
 * (FragmentLengthInMilliseconds, to its last frame's start) plus one frame as its neighbours show it.
 */
export function segmentsOf(
  session: PlaybackSession,
  fragments: FragmentRecord[],
  numberOf: (f: FragmentRecord) => string,
): WindowSegment[] {
  const selected = (f: FragmentRecord) => (session.selection.kind === 'producer' ? f.producerMs : f.serverMs);
  const untilNext = (i: number) => {
    const next = fragments[i + 1];
    const d = next ? next.producerMs - fragments[i]!.producerMs : undefined;
    return d !== undefined && d > 0 && d <= fragments[i]!.lengthMs + GAP_MS ? d : undefined;
  };
  let frame = 0;
  return fragments.map((f, i) => {
    const until = untilNext(i);
    if (until !== undefined && until - f.lengthMs > 0 && until - f.lengthMs < 200) frame = until - f.lengthMs;
    const durationMs = until ?? Math.max(1, f.lengthMs + frame);
    const prev = fragments[i - 1];
    const jump = prev ? f.producerMs - (prev.producerMs + prev.lengthMs) : 0;
    const broken = prev !== undefined && (jump > DISCONTINUITY_MS + LAST_FRAME_MS || jump < -DISCONTINUITY_MS);
    const discontinuity =
      session.discontinuity === 'ALWAYS' || (session.discontinuity === 'ON_DISCONTINUITY' && broken);
    return { fragment: f, fragmentNumber: numberOf(f), startMs: selected(f), durationMs, discontinuity };
  });
}
