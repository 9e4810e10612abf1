/**
 * The HLS session resources under /hls/v1/, fetched by players with plain GETs and authenticated by the
 * SessionToken of their query alone (GetHLSStreamingSessionURL issued it): the master playlist, a media
 * playlist per track, fMP4 init and media fragments per track, and MPEG-TS fragments with every track.
 * Browsers fetch them from other origins (AWS's own viewer is a page elsewhere), hence CORS `*`.
 */
import type { ServerResponse } from 'node:http';
import type { Archive } from '../archive/archive.js';
import { initSegment, mediaSegment } from '../playback/fmp4.js';
import { masterPlaylist, mediaPlaylist } from '../playback/hls.js';
import { fragmentSamples } from '../playback/demux.js';
import { tsSegment } from '../playback/mpegts.js';
import { ApiError, invalidArgument } from '../protocol/errors.js';
import { formatFragmentNumber, parseFragmentNumber } from '../protocol/fragmentNumbers.js';
import type { InputShape } from '../protocol/validator.js';
import type { FragmentRecord, StreamRecord } from '../storage/catalog.js';
import type { Context } from './operation.js';
import {
  asApiError,
  clusterOf,
  openSession,
  type PlaybackSession,
  segmentsOf,
  sessionStream,
  tracksOf,
} from './playbackSession.js';
import type { KvsdRoute, RouteCall } from './routes.js';
import { retentionHorizon } from '../archive/retention.js';
import type { RouteGroup } from '../protocol/router.js';

const SessionToken = { type: 'string', min: 1, max: 4096, required: true } as const;
const TrackNumber = { type: 'string', pattern: '[1-9][0-9]{0,2}' } as const;
const FragmentNumber = { type: 'string', min: 1, max: 128, pattern: '[0-9]+', required: true } as const;
const SequenceNumber = { type: 'string', pattern: '[0-9]{1,15}', required: true } as const;

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

/** A session-token route whose handler gets the opened session and its stream. */
/** A session resource's query, validated against its shape (every value is a string). */
export type SessionQuery = { SessionToken: string } & Partial<Record<string, string>>;

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
async function trackOf(archive: Archive, stream: StreamRecord, headerId: number, trackNumber: string | undefined) {
  const set = await tracksOf(archive, stream, headerId);
  const n = Number(trackNumber ?? set.tracks[0]!.number);
  const track = set.tracks.find((t) => t.number === n);
  if (!track) throw invalidArgument(`The stream has no playable track ${n}.`);
  return { set, track };
}

const M3U8 = 'application/x-mpegURL';

const master = sessionRoute({
  path: '/hls/v1/getHLSMasterPlaylist.m3u8',
  name: 'GetHLSMasterPlaylist',
  shape: { type: 'structure', members: { SessionToken } },
  async serve({ input, session, stream, archive, res }) {
    const window = await archive.playback.window(stream, session.id, session.selection);
    const newest = window.fragments[window.fragments.length - 1];
    if (!newest)
      throw new ApiError(
        'ResourceNotFoundException',
        404,
        'No fragments found in the stream for the streaming request.',
      );
    const { tracks } = await tracksOf(archive, stream, newest.headerId);
    const segments = segmentsOf(session, window.fragments, numberOf);
    // Peak bits per second; a fragment shorter than a second counts as one (a stub would claim a peak it is not).
    const bandwidth = Math.max(...segments.map((s) => (s.fragment.size * 8 * 1000) / Math.max(s.durationMs, 1000)));
    const container = session.container === 'MPEG_TS' ? 'ts' : 'fmp4';
    sendResource(res, M3U8, masterPlaylist({ container, token: input.SessionToken, tracks, bandwidth }));
  },
});

const media = sessionRoute({
  path: '/hls/v1/getHLSMediaPlaylist.m3u8',
  name: 'GetHLSMediaPlaylist',
  shape: { type: 'structure', members: { SessionToken, TrackNumber } },
  async serve({ input, session, stream, archive, res }) {
    const window = await archive.playback.window(stream, session.id, session.selection);
    const first = window.fragments[0];
    const trackNumber = first ? (await trackOf(archive, stream, first.headerId, input.TrackNumber)).track.number : 1;
    const segments = segmentsOf(session, window.fragments, numberOf);
    const text = mediaPlaylist({
      container: session.container === 'MPEG_TS' ? 'ts' : 'fmp4',
      token: input.SessionToken,
      trackNumber,
      segments: segments.map((s) => ({ ...s, codecKey: s.fragment.headerId })),
      mediaSequence: window.firstIndex,
      ...(session.discontinuity === 'ALWAYS' &&
        session.selection.mode !== 'ON_DEMAND' && {
          discontinuitySequence: window.firstIndex,
        }),
      vod: session.selection.mode === 'ON_DEMAND',
      ended: window.complete,
      programDateTime: session.displayTimestamp,
    });
    sendResource(res, M3U8, text);
  },
});

const init = sessionRoute({
  path: '/hls/v1/getMP4InitFragment.mp4',
  name: 'GetMP4InitFragment',
  shape: { type: 'structure', members: { SessionToken, TrackNumber, SequenceNumber } },
  async serve({ input, stream, archive, res }) {
    // SequenceNumber names the codec data: kvsd's track-header id (a new one when codec data changes).
    const { track } = await trackOf(archive, stream, Number(input.SequenceNumber), input.TrackNumber);
    sendResource(res, 'video/mp4', initSegment(track));
  },
});

const mp4Fragment = sessionRoute({
  path: '/hls/v1/getMP4MediaFragment.mp4',
  name: 'GetMP4MediaFragment',
  shape: { type: 'structure', members: { SessionToken, TrackNumber, FragmentNumber } },
  async serve({ input, stream, archive, res }) {
    const f = await sessionFragment(archive, stream, input.FragmentNumber!);
    const { set, track } = await trackOf(archive, stream, f.headerId, input.TrackNumber);
    const part = fragmentSamples(await clusterOf(archive, stream, f), set).find((m) => m.track === track)!;
    // mfhd sequence numbers only need to increase along the stream: the ingestion sequence does.
    sendResource(res, 'video/mp4', mediaSegment(part, f.seq % 2 ** 32 || 1));
  },
});

const tsFragment = sessionRoute({
  path: '/hls/v1/getTSFragment.ts',
  name: 'GetTSFragment',
  shape: { type: 'structure', members: { SessionToken, FragmentNumber } },
  async serve({ input, stream, archive, res }) {
    const f = await sessionFragment(archive, stream, input.FragmentNumber!);
    const set = await tracksOf(archive, stream, f.headerId);
    sendResource(res, 'video/MP2T', tsSegment(fragmentSamples(await clusterOf(archive, stream, f), set)));
  },
});

export const hls: RouteGroup<KvsdRoute> = { name: 'hls', routes: [master, media, init, mp4Fragment, tsFragment] };
