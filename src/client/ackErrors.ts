/**
 * What each PutMedia ERROR acknowledgement means and what to do about it. An acknowledgement carries only
 * its code (AWS's do too), so without this a dropped fragment is a number in a JSON line. The codes are
 * AWS's (https://docs.aws.amazon.com/kinesisvideostreams/latest/dg/API_dataplane_PutMedia.html); the table
 * covers every code kvsd sends (the type checks it against ACK_ERRORS).
 */
import type { AckErrorId } from '../archive/ingest.js';

const EXPLANATIONS = {
  4001: 'a fragment (one MKV Cluster) is over 50 MB and was dropped: start a cluster more often (a keyframe every few seconds)',
  4002: 'a fragment (one MKV Cluster) spans over 10 s and was dropped: put a keyframe at least every 10 s (ffmpeg -g N -keyint_min N)',
  4003: 'the connection reached its 45-minute limit and the server ended it: start a new PutMedia for the rest',
  4004:
    "a fragment's first frame is not after the previous fragment's last frame, so it was dropped. With x264's default " +
    "B-frames a video frame of one cluster is later than the next cluster's first audio frame: encode with -bf 0, " +
    "or mux so that each cluster starts after the previous one's last frame",
  4006: 'the input is not valid Matroska (or ends inside an element) and the session ended: check it with mkvinfo -a',
  4007: "a fragment's producer timestamp is before 1970 or after 9999-12-31 (which clients cannot read back) and it was dropped: check the timecodes, or x-amzn-producer-start-timestamp for RELATIVE ones",
  4008: 'the stream was deleted during the upload and the session ended',
  4010: 'a frame is on a track number the Tracks header does not declare; its fragment was dropped',
  4011: 'a fragment has no frame for one of the declared tracks and was dropped: every track needs a frame in each cluster',
  4012: 'the input declares more than 3 tracks and the session ended',
  5000: 'the server failed on this upload (its log says why) and the session ended',
  5001: 'the server could not store the fragments (its log says why: disk full, permissions?) and the session ended: send again once the server has space',
} satisfies Record<AckErrorId, string>;

export function explainAckError(errorId: number | undefined): string {
  return (
    (EXPLANATIONS as Record<number, string>)[errorId ?? -1] ?? 'an error code kvsd does not know: see the server log'
  );
}

/** Explains each ERROR code once per upload, and counts them all for the summary. */
export class AckErrorReport {
  private readonly counts = new Map<string, number>();

  constructor(private readonly write: (line: string) => void) {}

  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  add(ack: { ErrorId?: number; ErrorCode?: string; FragmentNumber?: string }): void {
    const key = `${ack.ErrorId ?? '?'} ${ack.ErrorCode ?? 'UNKNOWN'}`;
    const seen = this.counts.get(key) ?? 0;
    this.counts.set(key, seen + 1);
    if (seen === 0) {
      const fragment = ack.FragmentNumber ? ` (fragment ${ack.FragmentNumber})` : '';
      this.write(`ERROR ${key}${fragment}: ${explainAckError(ack.ErrorId)}`);
    }
  }

  /** `4004 FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS x3, ...`, or '' without errors. */
  summary(): string {
    return [...this.counts].map(([key, n]) => `${key} x${n}`).join(', ');
  }
}
