/**
 * GetMedia (kinesis-video-media): streams fragments in ingestion order from the chosen start, then
 * follows live ingest on the same chunked response until the client disconnects (or the stream is
 * deleted, or kvsd shuts down). Each fragment's document ends with MILLIS_BEHIND_NOW and
 * CONTINUATION_TOKEN tags; the token is the fragment's number, and CONTINUATION_TOKEN resumes after it.
 */
import { once } from 'node:events';
import type { StreamingOperation } from './operation.js';
import { FragmentNumber, streamRef } from './shapes.js';
import { getMediaTrailer } from '../archive/reading.js';
import { parseFragmentNumber } from '../protocol/fragmentNumbers.js';
import type { Archive } from '../archive/archive.js';
import type { StreamRecord } from '../storage/catalog.js';
import { ApiError, invalidArgument } from '../protocol/errors.js';
import { startMediaResponse, writeFragment } from './mediaResponse.js';

const START_TYPES = ['FRAGMENT_NUMBER', 'SERVER_TIMESTAMP', 'PRODUCER_TIMESTAMP', 'NOW', 'EARLIEST', 'CONTINUATION_TOKEN'] as const;

interface StartSelector {
  StartSelectorType: (typeof START_TYPES)[number];
  AfterFragmentNumber?: string;
  StartTimestamp?: number;
  ContinuationToken?: string;
}

/** How long an idle follower sleeps before looking again, should a wake-up be missed. */
const POLL_MS = 1000;
const BATCH = 50;

function seqOf(text: string, what: string): number {
  const p = parseFragmentNumber(text);
  if (!p) throw invalidArgument(`${what} '${text}' is not a fragment number of this stream.`);
  return p.seq;
}

/** The seq after which streaming starts. */
async function startAfter(archive: Archive, stream: StreamRecord, sel: StartSelector): Promise<number> {
  switch (sel.StartSelectorType) {
    case 'EARLIEST': return 0;
    case 'NOW': return archive.reader.lastSeq(stream);
    case 'FRAGMENT_NUMBER': {
      if (!sel.AfterFragmentNumber) throw invalidArgument('StartSelector.AfterFragmentNumber is required for StartSelectorType FRAGMENT_NUMBER.');
      if (!(await archive.reader.lookup(stream, sel.AfterFragmentNumber))) {
        throw new ApiError('ResourceNotFoundException', 404, `Fragment ${sel.AfterFragmentNumber} is not found in stream ${stream.name}.`);
      }
      return seqOf(sel.AfterFragmentNumber, 'AfterFragmentNumber');
    }
    case 'CONTINUATION_TOKEN':
      if (!sel.ContinuationToken) throw invalidArgument('StartSelector.ContinuationToken is required for StartSelectorType CONTINUATION_TOKEN.');
      return seqOf(sel.ContinuationToken, 'ContinuationToken');
    case 'SERVER_TIMESTAMP':
    case 'PRODUCER_TIMESTAMP': {
      if (sel.StartTimestamp === undefined) throw invalidArgument(`StartSelector.StartTimestamp is required for StartSelectorType ${sel.StartSelectorType}.`);
      const kind = sel.StartSelectorType === 'SERVER_TIMESTAMP' ? 'server' : 'producer';
      // Nothing at or after the timestamp yet: follow from the live edge.
      return (await archive.reader.beforeTimestamp(stream, kind, sel.StartTimestamp)) ?? archive.reader.lastSeq(stream);
    }
  }
}

/** Resolves on the stream's next `available` event, after POLL_MS, or on stop; cancel() detaches it. */
function nextAvailable(archive: Archive, streamId: number, stop: AbortSignal) {
  const local = new AbortController();
  const onStop = () => local.abort();
  stop.addEventListener('abort', onStop, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const promise = Promise.race([
    once(archive.events, `available:${streamId}`, { signal: local.signal }).catch(() => undefined),
    new Promise<void>((resolve) => { timer = setTimeout(resolve, POLL_MS); }),
  ]);
  return {
    promise,
    cancel: () => {
      clearTimeout(timer);
      local.abort();
      stop.removeEventListener('abort', onStop);
    },
  };
}

export const getMedia: StreamingOperation<{ StreamName?: string; StreamARN?: string; StartSelector: StartSelector }> = {
  kind: 'streaming',
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
    // Fragments are read in seq order, but a seq is taken when a cluster starts: with concurrent PutMedia
    // sessions on one stream, a fragment can become readable after one with a higher seq was already sent.
    // Such late fragments are caught from the `available` events: any whose seq a read may already have
    // passed (a read was in flight, or the seq is at or below `after`) is remembered in `late` and sent
    // after the next read, unless that read returned it.
    const late = new Set<number>();
    let reading = true;
    let after = 0;
    const available = `available:${stream.id}`;
    const onAvailable = (f: { seq: number }) => { if (reading || f.seq <= after) late.add(f.seq); };
    archive.events.on(available, onAvailable);
    try {
      after = await startAfter(archive, stream, input.StartSelector);
    } catch (err) {
      archive.events.off(available, onAvailable);
      throw err;
    }
    reading = false;
    startMediaResponse(res);

    // Everything that ends the response wakes the loop through one controller.
    const stop = new AbortController();
    const end = () => stop.abort();
    const deleted = `deleted:${stream.id}`;
    res.once('close', end);
    archive.events.once(deleted, end);
    shutdown.addEventListener('abort', end);
    try {
      while (!stop.signal.aborted) {
        // Listen before looking, so that a fragment landing in between still wakes us.
        const wake = nextAvailable(archive, stream.id, stop.signal);
        try {
          reading = true;
          let batch: Awaited<ReturnType<typeof archive.reader.after>>;
          try {
            batch = await archive.reader.after(stream, after, BATCH);
          } finally {
            reading = false;
          }
          const { fragments, next } = batch;
          const moved = next !== after;
          after = next;
          // Late seqs above `after` come with the next read; those this read returned are sent now.
          for (const seq of late) if (seq > after) late.delete(seq);
          for (const f of fragments) late.delete(f.seq);
          const lateSeqs = [...late].sort((a, b) => a - b);
          late.clear();
          const lateFragments = (await Promise.all(lateSeqs.map((seq) => archive.reader.bySeq(stream, seq))))
            .filter((f): f is NonNullable<typeof f> => f !== undefined);
          const all = lateFragments.length ? [...fragments, ...lateFragments].sort((a, b) => a.seq - b.seq) : fragments;
          for (const f of all) {
            if (!(await writeFragment(res, f, () => getMediaTrailer(f)))) return;
          }
          if (moved || all.length > 0) continue;
          await wake.promise;
        } finally {
          wake.cancel();
        }
      }
    } finally {
      archive.events.off(available, onAvailable);
      res.off('close', end);
      archive.events.off(deleted, end);
      shutdown.removeEventListener('abort', end);
      stop.abort();
      if (!res.destroyed) res.end();
    }
  },
};
