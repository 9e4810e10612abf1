import { jsonOperation } from './operation.js';
import { DeviceName, KmsKeyId, MediaType, StreamName, Tags } from './shapes.js';
import { MAX_RETENTION_HOURS } from '../archive/streams.js';

export const createStream = jsonOperation({
  name: 'CreateStream',
  path: '/createStream',
  input: {
    type: 'structure',
    members: {
      StreamName: { ...StreamName, required: true },
      DeviceName,
      MediaType,
      KmsKeyId,
      DataRetentionInHours: { type: 'integer', min: 0, max: MAX_RETENTION_HOURS },
      Tags,
      StreamStorageConfiguration: {
        type: 'structure',
        members: { DefaultStorageTier: { type: 'string', enum: ['HOT', 'WARM'], required: true } },
      },
    },
  },
  async handle(input, { archive }) {
    const stream = await archive.streams.create(input);
    return { StreamARN: stream.arn };
  },
});
