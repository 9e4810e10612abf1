import { jsonOperation } from './operation.js';
import { streamRef } from './shapes.js';
import { invalidArgument } from '../protocol/errors.js';

export const listTagsForStream = jsonOperation({
  name: 'ListTagsForStream',
  path: '/listTagsForStream',
  input: {
    type: 'structure',
    members: { ...streamRef.members, NextToken: { type: 'string', min: 0, max: 512, pattern: '[a-zA-Z0-9+/=]*' } },
    anyOf: streamRef.anyOf,
  },
  async handle(input, { archive }) {
    // A stream holds at most 50 tags, all returned at once: kvsd never issues a token here.
    if (input.NextToken) throw invalidArgument('NextToken is not a token ListTagsForStream issued.');
    return { Tags: await archive.streams.tags(await archive.streams.resolve(input)) };
  },
});
