import { jsonOperation } from './operation.js';
import { streamRef } from './shapes.js';

export const API_NAMES = [
  'PUT_MEDIA',
  'GET_MEDIA',
  'LIST_FRAGMENTS',
  'GET_MEDIA_FOR_FRAGMENT_LIST',
  'GET_HLS_STREAMING_SESSION_URL',
  'GET_DASH_STREAMING_SESSION_URL',
  'GET_CLIP',
  'GET_IMAGES',
] as const;

export const getDataEndpoint = jsonOperation({
  name: 'GetDataEndpoint',
  path: '/getDataEndpoint',
  input: {
    type: 'structure',
    members: { ...streamRef.members, APIName: { type: 'string', enum: API_NAMES, required: true } },
    anyOf: streamRef.anyOf,
  },
  async handle(input, { archive, server, host }) {
    await archive.streams.resolve(input);
    // One kvsd listener serves every API, so every APIName gets the same base URL.
    return { DataEndpoint: server.dataEndpoint(host) };
  },
});
