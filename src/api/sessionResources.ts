/**
 * What the HLS and DASH session resources share: session-token routes, their query members, fragments by
 * number, tracks by TrackNumber, and the fMP4 init segment (the same resource under /hls/v1/ and /dash/v1/).
 */
import type { ServerResponse } from 'node:http';
import type { Archive } from '../archive/archive.js';
import { retentionHorizon } from '../archive/retention.js';
import { fragmentSamples } from '../playback/demux.js';
import { initSegment, mediaSegment } from '../playback/fmp4.js';
import { ApiError, invalidArgument } from '../protocol/errors.js';
import { formatFragmentNumber, parseFragmentNumber } from '../protocol/fragmentNumbers.js';
import type { InputShape } from '../protocol/validator.js';
import type { FragmentRecord, StreamRecord } from '../storage/catalog.js';
import type { Context } from './operation.js';
import {
  asApiError,
  clusterOf,
  openSession,
  sessionInvalid,
  sessionRevoked,
  type PlaybackSession,
  sessionStream,
  tracksOf,
  type WindowSegment,
} from './playbackSession.js';
import type { KvsdRoute, RouteCall } from './routes.js';

export const SessionToken = { type: 'string', min: 1, max: 4096, required: true } as const;
export const TrackNumber = { type: 'string', pattern: '[1-9][0-9]{0,2}' } as const;
export const FragmentNumber = { type: 'string', min: 1, max: 128, pattern: '[0-9]+', required: true } as const;
export const SequenceNumber = { type: 'string', pattern: '[0-9]{1,15}', required: true } as const;

export const numberOf = (f: FragmentRecord) =>
  formatFragmentNumber({ seq: f.seq, serverMs: f.serverMs, nonce: f.nonce });

/** Answers a session resource: its bytes, no caching by intermediaries (tokens expire), any origin. */
export function sendResource(res: ServerResponse, type: string, body: Buffer | string) {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(200, {
    'Content-Type': type,
    'Content-Length': bytes.length,
    'Cache-Control': 'no-cache',
    'Access-Control-Allow-Origin': '*',
  });
  res.end(bytes);
}

/** A session resource's query, validated against its shape (every value is a string). */
export type SessionQuery = { SessionToken: string } & Partial<Record<string, string>>;

/** A session-token route whose handler gets the opened session and its stream. */
export function sessionRoute(route: {
  /** The protocol whose sessions this resource serves: an HLS token opens no DASH resource, and back. */
  protocol: PlaybackSession['protocol'];
  path: string;
  name: string;
  shape: InputShape;
  serve(call: {
    input: SessionQuery;
    session: PlaybackSession;
    stream: StreamRecord;
    archive: Archive;
    res: ServerResponse;
    ctx: Context;
  }): Promise<void>;
}): KvsdRoute {
  return {
    method: 'GET',
    path: route.path,
    name: route.name,
    auth: 'session-token',
    input: 'query',
    answers: 'stream',
    streaming: false,
    shape: route.shape,
    async handle({ input, res, ctx }: RouteCall) {
      const query = input as SessionQuery;
      const session = openSession(ctx.archive, query.SessionToken);
      if (session.protocol !== route.protocol) throw sessionInvalid();
      if (ctx.sessions?.revoked(session.id)) throw sessionRevoked();
      const stream = await sessionStream(ctx.archive, session);
      try {
        await route.serve({ input: query, session, stream, archive: ctx.archive, res, ctx });
      } catch (err) {
        throw asApiError(err);
      }
    },
  };
}

/** A fragment of the session's stream by number, still retained; 404 otherwise. */
export async function sessionFragment(archive: Archive, stream: StreamRecord, number: string): Promise<FragmentRecord> {
  const parts = parseFragmentNumber(number);
  const f = parts && (await archive.catalog.getFragment(stream.id, parts.seq));
  if (!f || numberOf(f) !== number || f.serverMs < retentionHorizon(stream, Date.now())) {
    throw new ApiError('ResourceNotFoundException', 404, 'The requested fragment is not found.');
  }
  return f;
}

/** The track of a header by its TrackNumber (default 1); 400 for a track the stream does not have. */
export async function trackOf(
  archive: Archive,
  stream: StreamRecord,
  headerId: number,
  trackNumber: string | undefined,
) {
  const set = await tracksOf(archive, stream, headerId);
  const n = Number(trackNumber ?? set.tracks[0]!.number);
  const track = set.tracks.find((t) => t.number === n);
  if (!track) throw invalidArgument(`The stream has no playable track ${n}.`);
  return { set, track };
}

/** getMP4InitFragment.mp4 under a protocol's prefix: ftyp + moov of one track of one codec configuration. */
export const initFragmentRoute = (protocol: PlaybackSession['protocol']) =>
  sessionRoute({
    protocol,
    path: `/${protocol}/v1/getMP4InitFragment.mp4`,
    name: 'GetMP4InitFragment',
    shape: { type: 'structure', members: { SessionToken, TrackNumber, SequenceNumber } },
    async serve({ input, stream, archive, res }) {
      // SequenceNumber names the codec data: kvsd's track-header id (a new one when codec data changes).
      const { track } = await trackOf(archive, stream, Number(input.SequenceNumber), input.TrackNumber);
      sendResource(res, 'video/mp4', initSegment(track));
    },
  });

/**
 * moof + mdat of one track of one fragment (HLS and DASH getMP4MediaFragment.mp4), its times moved by
 * `shiftMs` onto the session's media timeline (DASH; HLS keeps the producer's epoch milliseconds).
 */
export async function mp4MediaFragment(
  archive: Archive,
  stream: StreamRecord,
  f: FragmentRecord,
  trackNumber: string | undefined,
  shiftMs = 0,
): Promise<Buffer> {
  const { set, track } = await trackOf(archive, stream, f.headerId, trackNumber);
  const part = fragmentSamples(await clusterOf(archive, stream, f), set).find((m) => m.track === track)!;
  // HLS (no shift) hands the samples on as they are: no copy per sample on its hot path.
  const samples =
    shiftMs === 0
      ? part.samples
      : part.samples.map((x) => ({ ...x, dts: Math.max(0, x.dts + shiftMs), pts: Math.max(0, x.pts + shiftMs) }));
  // mfhd sequence numbers only need to increase along the stream: the ingestion sequence does.
  return mediaSegment({ ...part, samples }, f.seq % 2 ** 32 || 1);
}

/** Peak bits per second of a window; a fragment shorter than a second counts as one (a stub would claim a peak it is not). */
export const peakBandwidth = (segments: WindowSegment[]) =>
  Math.max(1, ...segments.map((s) => (s.fragment.size * 8 * 1000) / Math.max(s.durationMs, 1000)));
