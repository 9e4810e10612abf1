import { jsonOperation } from './operation.js';
import { DeviceName, MediaType, streamRef, Version } from './shapes.js';

export const updateStream = jsonOperation({
  name: 'UpdateStream',
  path: '/updateStream',
  input: {
    type: 'structure',
    members: { ...streamRef.members, CurrentVersion: { ...Version, required: true }, DeviceName, MediaType },
    anyOf: streamRef.anyOf,
  },
  async handle(input, { archive }) {
    const stream = await archive.streams.resolve(input);
    await archive.streams.update(stream, input.CurrentVersion, {
      deviceName: input.DeviceName,
      mediaType: input.MediaType,
    });
    return {};
  },
});
