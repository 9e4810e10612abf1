import { jsonOperation } from './operation.js';
import { StreamARN, Version } from './shapes.js';

export const deleteStream = jsonOperation({
  name: 'DeleteStream',
  path: '/deleteStream',
  input: { type: 'structure', members: { StreamARN: { ...StreamARN, required: true }, CurrentVersion: Version } },
  async handle(input, { archive }) {
    await archive.deleteStream(input.StreamARN, input.CurrentVersion);
    return {};
  },
});
