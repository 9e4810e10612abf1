/** Member shapes shared by several operations, with the limits of the service models. */
import type { Member, Shape } from '../protocol/validator.js';

export const StreamName = { type: 'string', min: 1, max: 256, pattern: '[a-zA-Z0-9_.-]+' } as const satisfies Member;
export const StreamARN = {
  type: 'string',
  min: 1,
  max: 1024,
  pattern: 'arn:[a-z\\d-]+:kinesisvideo:[a-z0-9-]+:[0-9]+:[a-z]+/[a-zA-Z0-9_.-]+/[0-9]+',
} as const satisfies Member;
export const DeviceName = { type: 'string', min: 1, max: 128, pattern: '[a-zA-Z0-9_.-]+' } as const satisfies Member;
export const MediaType = {
  type: 'string',
  min: 1,
  max: 128,
  pattern: '[\\w\\-\\.\\+]+/[\\w\\-\\.\\+]+(,[\\w\\-\\.\\+]+/[\\w\\-\\.\\+]+)*',
} as const satisfies Member;
export const KmsKeyId = { type: 'string', min: 1, max: 2048, pattern: '.+' } as const satisfies Member;
export const Version = { type: 'string', min: 1, max: 64, pattern: '[a-zA-Z0-9]+' } as const satisfies Member;
export const TagKey = {
  type: 'string',
  min: 1,
  max: 128,
  pattern: '([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)',
} as const satisfies Shape;
export const TagValue = {
  type: 'string',
  min: 0,
  max: 256,
  pattern: '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*',
} as const satisfies Shape;
export const Tags = { type: 'map', key: TagKey, value: TagValue, min: 1, max: 50 } as const satisfies Member;
export const FragmentNumber = { type: 'string', min: 1, max: 128, pattern: '[0-9]+' } as const satisfies Shape;

/** StreamName and/or StreamARN: the members and the rule that one must be given. */
export const streamRef = {
  members: { StreamName, StreamARN },
  anyOf: [['StreamName', 'StreamARN']] as const,
};

/**
 * A selector of fragments by a required timestamp kind and a required, inclusive range: ListFragments'
 * FragmentSelector and GetClip's ClipFragmentSelector have the same members and rules.
 */
export const timestampRangeSelector = {
  type: 'structure',
  members: {
    FragmentSelectorType: { type: 'string', enum: ['PRODUCER_TIMESTAMP', 'SERVER_TIMESTAMP'], required: true },
    TimestampRange: {
      type: 'structure',
      required: true,
      members: {
        StartTimestamp: { type: 'timestamp', required: true },
        EndTimestamp: { type: 'timestamp', required: true },
      },
    },
  },
} as const satisfies Member;
