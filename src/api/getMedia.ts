/**
 * GetMedia (kinesis-video-media): streams fragments in ingestion order from the chosen start, then
 * follows live ingest on the same chunked response until the client disconnects (or the stream is
 * deleted, or kvsd shuts down). Each fragment's document ends with MILLIS_BEHIND_NOW and
 * CONTINUATION_TOKEN tags; the token is the fragment's number, and CONTINUATION_TOKEN resumes after it.
 */
import { streamingOperation } from './operation.js';
import { FragmentNumber, streamRef } from './shapes.js';
import { getMediaTrailer } from '../archive/fragmentReader.js';
import { parseFragmentNumber } from '../protocol/fragmentNumbers.js';
import type { Archive } from '../archive/archive.js';
import type { StreamRecord } from '../storage/catalog.js';
import { ApiError, invalidArgument } from '../protocol/errors.js';
import { startMediaResponse, writeFragment } from './mediaResponse.js';

const START_TYPES = [
  'FRAGMENT_NUMBER',
  'SERVER_TIMESTAMP',
  'PRODUCER_TIMESTAMP',
  'NOW',
  'EARLIEST',
  'CONTINUATION_TOKEN',
] as const;

interface StartSelector {
  StartSelectorType: (typeof START_TYPES)[number];
  AfterFragmentNumber?: string;
  StartTimestamp?: number;
  ContinuationToken?: string;
}

function seqOf(text: string, what: string): number {
  const p = parseFragmentNumber(text);
  if (!p) throw invalidArgument(`${what} '${text}' is not a fragment number of this stream.`);
  return p.seq;
}

/** The seq after which streaming starts. */
async function startAfter(archive: Archive, stream: StreamRecord, sel: StartSelector): Promise<number> {
  switch (sel.StartSelectorType) {
    case 'EARLIEST':
      return 0;
    case 'NOW':
      return archive.reader.lastSeq(stream);
    case 'FRAGMENT_NUMBER': {
      if (!sel.AfterFragmentNumber)
        throw invalidArgument('StartSelector.AfterFragmentNumber is required for StartSelectorType FRAGMENT_NUMBER.');
      if (!(await archive.reader.lookup(stream, sel.AfterFragmentNumber))) {
        throw new ApiError(
          'ResourceNotFoundException',
          404,
          `Fragment ${sel.AfterFragmentNumber} is not found in stream ${stream.name}.`,
        );
      }
      return seqOf(sel.AfterFragmentNumber, 'AfterFragmentNumber');
    }
    case 'CONTINUATION_TOKEN':
      if (!sel.ContinuationToken)
        throw invalidArgument('StartSelector.ContinuationToken is required for StartSelectorType CONTINUATION_TOKEN.');
      return seqOf(sel.ContinuationToken, 'ContinuationToken');
    case 'SERVER_TIMESTAMP':
    case 'PRODUCER_TIMESTAMP': {
      if (sel.StartTimestamp === undefined)
        throw invalidArgument(
          `StartSelector.StartTimestamp is required for StartSelectorType ${sel.StartSelectorType}.`,
        );
      const kind = sel.StartSelectorType === 'SERVER_TIMESTAMP' ? 'server' : 'producer';
      // Nothing at or after the timestamp yet: follow from the live edge.
      return (await archive.reader.beforeTimestamp(stream, kind, sel.StartTimestamp)) ?? archive.reader.lastSeq(stream);
    }
  }
}

export const getMedia = streamingOperation({
  name: 'GetMedia',
  path: '/getMedia',
  input: {
    type: 'structure',
    members: {
      ...streamRef.members,
      StartSelector: {
        type: 'structure',
        required: true,
        members: {
          StartSelectorType: { type: 'string', enum: START_TYPES, required: true },
          AfterFragmentNumber: FragmentNumber,
          StartTimestamp: { type: 'timestamp' },
          ContinuationToken: { type: 'string', min: 1, max: 128, pattern: '[a-zA-Z0-9_\\.\\-]+' },
        },
      },
    },
    anyOf: streamRef.anyOf,
  },
  async handle(_req, res, input, { archive, shutdown }) {
    const stream = await archive.streams.resolve(input);
    // Subscribed before the start is read: nothing that lands meanwhile is missed (src/archive/follow.ts).
    const following = archive.follow(stream);
    let after: number;
    try {
      after = await startAfter(archive, stream, input.StartSelector);
    } catch (err) {
      following.close();
      throw err;
    }
    startMediaResponse(res);

    // Everything that ends the response (the client, shutdown) ends the follow through one controller;
    // the follow ends by itself when the stream is deleted.
    const stop = new AbortController();
    const end = () => stop.abort();
    res.once('close', end);
    shutdown.addEventListener('abort', end);
    try {
      for await (const f of following.fragmentsAfter(after, stop.signal)) {
        if (!(await writeFragment(res, f, () => getMediaTrailer(f)))) return;
      }
    } finally {
      following.close();
      res.off('close', end);
      shutdown.removeEventListener('abort', end);
      stop.abort();
      if (!res.destroyed) res.end();
    }
  },
});
