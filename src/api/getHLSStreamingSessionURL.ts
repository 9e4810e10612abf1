/**
 * GetHLSStreamingSessionURL (archived media): checks the request as KVS does and returns the URL of a
 * master playlist whose SessionToken holds the whole session (src/api/playbackSession.ts). The session
 * resources are the HLS route group (src/api/hls.ts).
 */
import { jsonOperation } from './operation.js';
import { fragmentSelectorShape, sealSession, startSelection } from './playbackSession.js';
import { streamRef } from './shapes.js';

export const getHLSStreamingSessionURL = jsonOperation({
  name: 'GetHLSStreamingSessionURL',
  path: '/getHLSStreamingSessionURL',
  input: {
    type: 'structure',
    members: {
      ...streamRef.members,
      PlaybackMode: { type: 'string', enum: ['LIVE', 'LIVE_REPLAY', 'ON_DEMAND'] },
      HLSFragmentSelector: fragmentSelectorShape,
      ContainerFormat: { type: 'string', enum: ['FRAGMENTED_MP4', 'MPEG_TS'] },
      DiscontinuityMode: { type: 'string', enum: ['ALWAYS', 'NEVER', 'ON_DISCONTINUITY'] },
      DisplayFragmentTimestamp: { type: 'string', enum: ['ALWAYS', 'NEVER'] },
      Expires: { type: 'integer', min: 300, max: 43200 },
      MaxMediaPlaylistFragmentResults: { type: 'integer', min: 1, max: 5000 },
    },
    anyOf: streamRef.anyOf,
  },
  async handle(input, ctx) {
    const { archive, server, host } = ctx;
    const now = Date.now();
    const stream = await archive.streams.resolve(input);
    const { selection } = await startSelection(
      archive,
      stream,
      {
        selectorName: 'HLSFragmentSelector',
        ...(input.PlaybackMode !== undefined && { PlaybackMode: input.PlaybackMode }),
        ...(input.HLSFragmentSelector !== undefined && { selector: input.HLSFragmentSelector }),
        ...(input.MaxMediaPlaylistFragmentResults !== undefined && { max: input.MaxMediaPlaylistFragmentResults }),
      },
      now,
    );
    const token = sealSession(ctx, 'GetHLSStreamingSessionURL', stream, {
      protocol: 'hls',
      selection,
      expiresMs: now + (input.Expires ?? 300) * 1000,
      container: input.ContainerFormat ?? 'FRAGMENTED_MP4',
      // AWS's defaults: ALWAYS for server timestamps, NEVER for producer timestamps.
      discontinuity: input.DiscontinuityMode ?? (selection.kind === 'server' ? 'ALWAYS' : 'NEVER'),
      displayTimestamp: input.DisplayFragmentTimestamp === 'ALWAYS',
      displayNumber: false,
    });
    return {
      HLSStreamingSessionURL: `${server.dataEndpoint(host)}/hls/v1/getHLSMasterPlaylist.m3u8?SessionToken=${token}`,
    };
  },
});
