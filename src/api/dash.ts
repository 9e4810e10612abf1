/**
 * The DASH session resources under /dash/v1/, fetched by players with plain GETs and authenticated by the
 * SessionToken alone (GetDASHStreamingSessionURL issued it): the manifest, and fMP4 init and media segments
 * per track. Segments are addressed by their number in the session (the manifest's `$Number$`, from 1),
 * which the playback selector maps back to a fragment.
 *
 * Codec data may not change within a DASH session (AWS's rule): the manifest lists fragments up to the
 * first one with other codec data (a producer's reconnection with the same codec data is no change), so a stream whose producer restarted with new codec data needs a new
 * session.
 */
import type { Archive } from '../archive/archive.js';
import { dashManifest, mediaShift } from '../playback/dash.js';
import { sameCodecData } from '../playback/demux.js';
import { ApiError } from '../protocol/errors.js';
import type { RouteGroup } from '../protocol/router.js';
import { retentionHorizon } from '../archive/retention.js';
import { segmentsOf, tracksOf } from './playbackSession.js';
import type { KvsdRoute } from './routes.js';
import type { FragmentRecord, StreamRecord } from '../storage/catalog.js';
import {
  initFragmentRoute,
  mp4MediaFragment,
  numberOf,
  peakBandwidth,
  SequenceNumber,
  SessionToken,
  sendResource,
  sessionRoute,
  TrackNumber,
} from './sessionResources.js';

/** The index of the first fragment whose codec data differs from the session's (-1: none does). */
async function firstOtherCodec(
  archive: Archive,
  stream: StreamRecord,
  headerId: number,
  fragments: FragmentRecord[],
): Promise<number> {
  const session = await tracksOf(archive, stream, headerId);
  for (let i = 0; i < fragments.length; i++) {
    const id = fragments[i]!.headerId;
    if (id !== headerId && !sameCodecData(session, await tracksOf(archive, stream, id))) return i;
  }
  return -1;
}

const notFound = () => new ApiError('ResourceNotFoundException', 404, 'The requested fragment is not found.');

const manifest = sessionRoute({
  protocol: 'dash',
  path: '/dash/v1/getDASHManifest.mpd',
  name: 'GetDASHManifest',
  shape: { type: 'structure', members: { SessionToken } },
  async serve({ input, session, stream, archive, res }) {
    const origin = session.origin!;
    const window = await archive.playback.window(stream, session.id, session.selection);
    const other = await firstOtherCodec(archive, stream, origin.headerId, window.fragments);
    const fragments = other < 0 ? window.fragments : window.fragments.slice(0, other);
    if (fragments.length === 0 && session.selection.mode === 'ON_DEMAND') {
      throw new ApiError(
        'ResourceNotFoundException',
        404,
        'No fragments found in the stream for the streaming request.',
      );
    }
    const { tracks } = await tracksOf(archive, stream, origin.headerId);
    const segments = segmentsOf(session, fragments, numberOf);
    const fixed = session.selection.mode === 'ON_DEMAND' || window.complete || other >= 0;
    const text = dashManifest({
      token: input.SessionToken,
      tracks,
      headerId: origin.headerId,
      startNumber: window.firstIndex + 1,
      segments: segments.map((s) => ({
        mediaMs: s.fragment.producerMs,
        durationMs: s.durationMs,
        startMs: s.startMs,
        fragmentNumber: s.fragmentNumber,
      })),
      originMs: origin.mediaMs,
      type: fixed ? 'static' : 'dynamic',
      availabilityStartMs: origin.wallMs,
      publishMs: Date.now(),
      bandwidth: peakBandwidth(segments),
      displayTimestamp: session.displayTimestamp,
      displayNumber: session.displayNumber,
    });
    sendResource(res, 'application/dash+xml', text);
  },
});

const init = initFragmentRoute('dash');

const mediaFragment = sessionRoute({
  protocol: 'dash',
  path: '/dash/v1/getMP4MediaFragment.mp4',
  name: 'GetMP4MediaFragment',
  shape: { type: 'structure', members: { SessionToken, TrackNumber, SequenceNumber } },
  async serve({ input, session, stream, archive, res }) {
    const number = Number(input.SequenceNumber);
    if (number < 1) throw notFound();
    const f = await archive.playback.fragmentAt(stream, session.id, session.selection, number - 1);
    if (
      !f ||
      f.serverMs < retentionHorizon(stream, Date.now()) ||
      (await firstOtherCodec(archive, stream, session.origin!.headerId, [f])) >= 0
    ) {
      throw notFound();
    }
    const shift = mediaShift(session.origin!.mediaMs);
    sendResource(res, 'video/mp4', await mp4MediaFragment(archive, stream, f, input.TrackNumber, shift));
  },
});

export const dash: RouteGroup<KvsdRoute> = { name: 'dash', routes: [manifest, init, mediaFragment] };
