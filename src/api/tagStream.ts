import { jsonOperation } from './operation.js';
import { streamRef, Tags } from './shapes.js';

export const tagStream = jsonOperation({
  name: 'TagStream',
  path: '/tagStream',
  input: {
    type: 'structure',
    members: { ...streamRef.members, Tags: { ...Tags, required: true } },
    anyOf: streamRef.anyOf,
  },
  async handle(input, { archive }) {
    await archive.streams.tag(await archive.streams.resolve(input), input.Tags);
    return {};
  },
});
