import { jsonOperation } from './operation.js';
import { streamRef, TagKey } from './shapes.js';

export const untagStream = jsonOperation({
  name: 'UntagStream',
  path: '/untagStream',
  input: {
    type: 'structure',
    members: { ...streamRef.members, TagKeyList: { type: 'list', member: TagKey, min: 1, max: 50, required: true } },
    anyOf: streamRef.anyOf,
  },
  async handle(input, { archive }) {
    await archive.streams.untag(await archive.streams.resolve(input), input.TagKeyList);
    return {};
  },
});
