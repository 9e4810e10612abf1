import { jsonOperation } from './operation.js';
import { streamRef, Version } from './shapes.js';
import { MAX_RETENTION_HOURS } from '../archive/streams.js';

export const updateDataRetention = jsonOperation({
  name: 'UpdateDataRetention',
  path: '/updateDataRetention',
  input: {
    type: 'structure',
    members: {
      ...streamRef.members,
      CurrentVersion: { ...Version, required: true },
      Operation: { type: 'string', enum: ['INCREASE_DATA_RETENTION', 'DECREASE_DATA_RETENTION'], required: true },
      DataRetentionChangeInHours: { type: 'integer', min: 1, max: MAX_RETENTION_HOURS, required: true },
    },
    anyOf: streamRef.anyOf,
  },
  async handle(input, { archive }) {
    const stream = await archive.streams.resolve(input);
    await archive.streams.updateRetention(
      stream,
      input.CurrentVersion,
      input.Operation,
      input.DataRetentionChangeInHours,
    );
    return {};
  },
});
