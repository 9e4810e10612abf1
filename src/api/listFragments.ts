/**
 * ListFragments (archived media): the persisted fragments of a stream whose selected start timestamp
 * lies in [StartTimestamp, EndTimestamp], both ends inclusive, in pages of MaxResults (default 100).
 */
import { jsonOperation } from './operation.js';
import { streamRef, timestampRangeSelector } from './shapes.js';
import { JsonBytes } from '../protocol/http.js';

export const DEFAULT_MAX_RESULTS = 100;
const PAGE_START = Buffer.from('{"Fragments":[');
const PAGE_END = Buffer.from(']}');

export const listFragments = jsonOperation({
  name: 'ListFragments',
  path: '/listFragments',
  input: {
    type: 'structure',
    members: {
      ...streamRef.members,
      MaxResults: { type: 'integer', min: 1, max: 1000 },
      NextToken: { type: 'string', min: 1, max: 4096, pattern: '[a-zA-Z0-9+/]+={0,2}' },
      FragmentSelector: timestampRangeSelector,
    },
    anyOf: streamRef.anyOf,
  },
  async handle(input, { archive, lister }) {
    const stream = await archive.streams.resolveRecent(input);
    const sel = input.FragmentSelector;
    const page = await (lister ?? archive.lister).list(
      stream,
      sel && {
        kind: sel.FragmentSelectorType === 'PRODUCER_TIMESTAMP' ? 'producer' : 'server',
        startMs: sel.TimestampRange.StartTimestamp,
        endMs: sel.TimestampRange.EndTimestamp,
      },
      input.NextToken,
      input.MaxResults ?? DEFAULT_MAX_RESULTS,
    );
    // The entries are the Fragment objects already in JSON (src/protocol/fragmentEntry.ts); the token is
    // base64 and needs no escaping.
    return new JsonBytes([
      PAGE_START,
      page.entries,
      page.nextToken !== undefined ? Buffer.from(`],"NextToken":"${page.nextToken}"}`, 'latin1') : PAGE_END,
    ]);
  },
});
