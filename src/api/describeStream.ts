import { jsonOperation } from './operation.js';
import { streamRef } from './shapes.js';
import { streamInfo } from './streamInfo.js';

export const describeStream = jsonOperation({
  name: 'DescribeStream',
  path: '/describeStream',
  input: { type: 'structure', ...streamRef },
  async handle(input, { archive }) {
    return { StreamInfo: streamInfo(await archive.streams.resolve(input)) };
  },
});
