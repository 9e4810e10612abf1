/**
 * The HLS session resources under /hls/v1/, fetched by players with plain GETs and authenticated by the
 * SessionToken of their query alone (GetHLSStreamingSessionURL issued it): the master playlist, a media
 * playlist per track, fMP4 init and media fragments per track, and MPEG-TS fragments with every track.
 * Browsers fetch them from other origins (AWS's own viewer is a page elsewhere), hence CORS `*`.
 */
import { masterPlaylist, mediaPlaylist } from '../playback/hls.js';
import { fragmentSamples } from '../playback/demux.js';
import { tsSegment } from '../playback/mpegts.js';
import { ApiError } from '../protocol/errors.js';
import type { RouteGroup } from '../protocol/router.js';
import { clusterOf, segmentsOf, tracksOf } from './playbackSession.js';
import type { KvsdRoute } from './routes.js';
import {
  FragmentNumber,
  initFragmentRoute,
  mp4MediaFragment,
  numberOf,
  peakBandwidth,
  SessionToken,
  sendResource,
  sessionFragment,
  sessionRoute,
  TrackNumber,
  trackOf,
} from './sessionResources.js';

const M3U8 = 'application/x-mpegURL';

const master = sessionRoute({
  protocol: 'hls',
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
    const bandwidth = peakBandwidth(segments);
    const container = session.container === 'MPEG_TS' ? 'ts' : 'fmp4';
    sendResource(res, M3U8, masterPlaylist({ container, token: input.SessionToken, tracks, bandwidth }));
  },
});

const media = sessionRoute({
  protocol: 'hls',
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

const init = initFragmentRoute('hls');

const mp4Fragment = sessionRoute({
  protocol: 'hls',
  path: '/hls/v1/getMP4MediaFragment.mp4',
  name: 'GetMP4MediaFragment',
  shape: { type: 'structure', members: { SessionToken, TrackNumber, FragmentNumber } },
  async serve({ input, stream, archive, res }) {
    const f = await sessionFragment(archive, stream, input.FragmentNumber!);
    sendResource(res, 'video/mp4', await mp4MediaFragment(archive, stream, f, input.TrackNumber));
  },
});

const tsFragment = sessionRoute({
  protocol: 'hls',
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
