/**
 * What the HLS and DASH session resources share: session-token routes, their query members, fragments by
 * number, tracks by TrackNumber, and the fMP4 init segment (the same resource under /hls/v1/ and /dash/v1/).
 */
import type { ServerResponse } from 'node:http';
import type { Archive } from '../archive/archive.js';
import { retentionHorizon } from '../archive/retention.js';
import { initSegment } from '../playback/fmp4.js';
import { ApiError, invalidArgument } from '../protocol/errors.js';
import { formatFragmentNumber, parseFragmentNumber } from '../protocol/fragmentNumbers.js';
import type { InputShape } from '../protocol/validator.js';
import type { FragmentRecord, StreamRecord } from '../storage/catalog.js';
import type { Context } from './operation.js';
import { asApiError, openSession, type PlaybackSession, sessionStream, tracksOf } from './playbackSession.js';
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
export const initFragmentRoute = (prefix: string) =>
  sessionRoute({
    path: `${prefix}/getMP4InitFragment.mp4`,
    name: 'GetMP4InitFragment',
    shape: { type: 'structure', members: { SessionToken, TrackNumber, SequenceNumber } },
    async serve({ input, stream, archive, res }) {
      // SequenceNumber names the codec data: kvsd's track-header id (a new one when codec data changes).
      const { track } = await trackOf(archive, stream, Number(input.SequenceNumber), input.TrackNumber);
      sendResource(res, 'video/mp4', initSegment(track));
    },
  });
