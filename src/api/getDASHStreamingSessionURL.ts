/**
 * GetDASHStreamingSessionURL (archived media): as GetHLSStreamingSessionURL (the same modes, selector rules
 * and errors), for an MPEG-DASH manifest whose SessionToken holds the whole session. The session resources
 * are the DASH route group (src/api/dash.ts).
 */
import { jsonOperation } from './operation.js';
import { fragmentSelectorShape, sealSession, startSelection } from './playbackSession.js';
import { streamRef } from './shapes.js';

const ALWAYS_NEVER = { type: 'string', enum: ['ALWAYS', 'NEVER'] } as const;

export const getDASHStreamingSessionURL = jsonOperation({
  name: 'GetDASHStreamingSessionURL',
  path: '/getDASHStreamingSessionURL',
  input: {
    type: 'structure',
    members: {
      ...streamRef.members,
      PlaybackMode: { type: 'string', enum: ['LIVE', 'LIVE_REPLAY', 'ON_DEMAND'] },
      DisplayFragmentTimestamp: ALWAYS_NEVER,
      DisplayFragmentNumber: ALWAYS_NEVER,
      DASHFragmentSelector: fragmentSelectorShape,
      Expires: { type: 'integer', min: 300, max: 43200 },
      MaxManifestFragmentResults: { type: 'integer', min: 1, max: 5000 },
    },
    anyOf: streamRef.anyOf,
  },
  async handle(input, ctx) {
    const { archive, server, host } = ctx;
    const now = Date.now();
    const stream = await archive.streams.resolve(input);
    const { selection, first, newest } = await startSelection(
      archive,
      stream,
      {
        selectorName: 'DASHFragmentSelector',
        ...(input.PlaybackMode !== undefined && { PlaybackMode: input.PlaybackMode }),
        ...(input.DASHFragmentSelector !== undefined && { selector: input.DASHFragmentSelector }),
        ...(input.MaxManifestFragmentResults !== undefined && { max: input.MaxManifestFragmentResults }),
      },
      now,
    );
    const selected = selection.kind === 'producer' ? first.producerMs : first.serverMs;
    // The wall-clock time of the first fragment's start, for a dynamic manifest's availabilityStartTime: LIVE
    // puts its newest fragment's end at the live edge now; LIVE_REPLAY reaches StartTimestamp now.
    const wallMs =
      selection.mode === 'LIVE'
        ? now - (newest.producerMs + newest.lengthMs - first.producerMs)
        : now + Math.max(0, selected - selection.startMs);
    const token = sealSession(ctx, 'GetDASHStreamingSessionURL', stream, {
      protocol: 'dash',
      selection,
      expiresMs: now + (input.Expires ?? 300) * 1000,
      container: 'FRAGMENTED_MP4',
      discontinuity: 'NEVER',
      displayTimestamp: input.DisplayFragmentTimestamp === 'ALWAYS',
      displayNumber: input.DisplayFragmentNumber === 'ALWAYS',
      origin: { mediaMs: first.producerMs, wallMs, headerId: first.headerId },
    });
    return {
      DASHStreamingSessionURL: `${server.dataEndpoint(host)}/dash/v1/getDASHManifest.mpd?SessionToken=${token}`,
    };
  },
});
