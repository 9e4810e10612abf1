import type { StreamRecord } from '../storage/catalog.js';
import { msToEpochSeconds } from '../protocol/timestamps.js';

/** The StreamInfo structure of DescribeStream and ListStreams. */
export function streamInfo(s: StreamRecord) {
  return {
    DeviceName: s.deviceName,
    StreamName: s.name,
    StreamARN: s.arn,
    MediaType: s.mediaType,
    KmsKeyId: s.kmsKeyId,
    Version: s.version,
    Status: s.status,
    CreationTime: msToEpochSeconds(s.creationMs),
    DataRetentionInHours: s.retentionHours,
  };
}
