/**
 * GetMediaForFragmentList (archived media): the requested fragments, in request order, each as a
 * complete MKV document. A number that names no fragment of this stream (never existed, another
 * stream's, expired, or any fragment of a stream that retains nothing) yields AWS's in-stream error
 * document (FRAGMENT_NOT_FOUND, 3000) in its place, and the response goes on with the next one.
 * Numbers are not de-duplicated: one document per listed number (docs/reading.md).
 */
import { streamingOperation } from './operation.js';
import { FragmentNumber, streamRef } from './shapes.js';
import { errorDocument } from '../archive/fragmentReader.js';
import { writeChunk } from '../protocol/http.js';
import { startMediaResponse, writeFragment } from './mediaResponse.js';

export const getMediaForFragmentList = streamingOperation({
  name: 'GetMediaForFragmentList',
  path: '/getMediaForFragmentList',
  input: {
    type: 'structure',
    members: {
      ...streamRef.members,
      Fragments: { type: 'list', member: FragmentNumber, min: 1, max: 1000, required: true },
    },
    anyOf: streamRef.anyOf,
  },
  async handle(_req, res, input, { archive }) {
    const stream = await archive.streams.resolve(input);
    // Look every fragment up before the 200, so that a catalog failure is still a proper error.
    const now = Date.now();
    // A stream that retains nothing archives nothing (docs/kvs-wire.md "Data retention and the host buffer"): its host buffer
    // is for GetMedia alone, so every number gets the not-found document.
    // A number listed several times is served as often as it is listed (docs/reading.md), but looked up once.
    const distinct = [...new Set(input.Fragments)];
    const byNumber = new Map(
      stream.retentionHours === 0
        ? []
        : await Promise.all(distinct.map(async (n) => [n, await archive.reader.lookup(stream, n, now)] as const)),
    );
    const found = input.Fragments.map((n) => byNumber.get(n));
    startMediaResponse(res);
    for (let i = 0; i < found.length; i++) {
      const f = found[i];
      const ok = f
        ? await writeFragment(res, f)
        : await writeChunk(res, errorDocument(input.Fragments[i]!, 'FRAGMENT_NOT_FOUND', 3000));
      if (!ok) return;
    }
    res.end();
  },
});
