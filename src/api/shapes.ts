/** Member shapes shared by several operations, with the limits of the service models. */
import type { Member, Shape } from '../protocol/validator.js';

export const StreamName: Member = { type: 'string', min: 1, max: 256, pattern: '[a-zA-Z0-9_.-]+' };
export const StreamARN: Member = {
  type: 'string', min: 1, max: 1024, pattern: 'arn:[a-z\\d-]+:kinesisvideo:[a-z0-9-]+:[0-9]+:[a-z]+/[a-zA-Z0-9_.-]+/[0-9]+',
};
export const DeviceName: Member = { type: 'string', min: 1, max: 128, pattern: '[a-zA-Z0-9_.-]+' };
export const MediaType: Member = {
  type: 'string', min: 1, max: 128, pattern: '[\\w\\-\\.\\+]+/[\\w\\-\\.\\+]+(,[\\w\\-\\.\\+]+/[\\w\\-\\.\\+]+)*',
};
export const KmsKeyId: Member = { type: 'string', min: 1, max: 2048, pattern: '.+' };
export const Version: Member = { type: 'string', min: 1, max: 64, pattern: '[a-zA-Z0-9]+' };
export const TagKey: Shape = { type: 'string', min: 1, max: 128, pattern: '([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)' };
export const TagValue: Shape = { type: 'string', min: 0, max: 256, pattern: '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*' };
export const Tags: Member = { type: 'map', key: TagKey, value: TagValue, min: 1, max: 50 };
export const FragmentNumber: Shape = { type: 'string', min: 1, max: 128, pattern: '[0-9]+' };

/** StreamName and/or StreamARN: the members and the rule that one must be given. */
export const streamRef = {
  members: { StreamName, StreamARN },
  anyOf: [['StreamName', 'StreamARN']] as const,
};
