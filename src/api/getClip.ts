/**
 * GetClip (archived media): an ordinary MP4 of the fragments whose selected timestamp lies in the range,
 * from its start, of at most 200 fragments or 100 MB of media (what AWS documents), answered as
 * `video/mp4`. The clip stops early where the codec data changes: one MP4 has one set of sample entries.
 */
import { mp4Clip } from './clipMedia.js';
import { streamingOperation } from './operation.js';
import { checkSessionStart, selectionOf } from './playbackSession.js';
import { streamRef, timestampRangeSelector } from './shapes.js';
import { ApiError } from '../protocol/errors.js';

export const getClip = streamingOperation({
  name: 'GetClip',
  path: '/getClip',
  input: {
    type: 'structure',
    members: {
      ...streamRef.members,
      ClipFragmentSelector: { ...timestampRangeSelector, required: true },
    },
    anyOf: streamRef.anyOf,
  },
  async handle(_req, res, input, { archive }) {
    const now = Date.now();
    const stream = await archive.streams.resolve(input);
    const selection = selectionOf(
      {
        selectorName: 'ClipFragmentSelector',
        PlaybackMode: 'ON_DEMAND',
        selector: input.ClipFragmentSelector,
        max: 200,
      },
      now,
    );
    try {
      await checkSessionStart(archive, stream, selection, now);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'ResourceNotFoundException') {
        throw new ApiError(err.code, 404, 'No fragments found in the stream for the clip request.');
      }
      throw err;
    }
    const body = await mp4Clip(archive, stream, selection, now);
    res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': body.length });
    res.end(body);
  },
});
