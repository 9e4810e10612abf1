// What the MKV parser (reader.ts) reports: the types of its events. Apart from the parser so that the EBML
// primitives (ebml.ts), whose MkvError carries events, need not import the parser that imports them.

export interface TrackEntryInfo {
  number: number;
  type?: number;
  codecId?: string;
  codecPrivate?: Buffer;
}

export interface TrackHeader {
  /** Raw bytes of the EBML header element (ID + size + payload) as received. */
  ebmlHeader: Buffer;
  /** Raw bytes of the Segment's Info element as received. */
  info: Buffer;
  /** Raw bytes of the Tracks element as received. */
  tracks: Buffer;
  /** From Info/TimecodeScale, default 1_000_000. */
  timecodeScaleNs: number;
  trackEntries: TrackEntryInfo[];
}

export type FrameEvent = {
  kind: 'frame';
  track: number;
  /** Signed 16-bit timecode relative to the Cluster Timecode, in TimecodeScale units. */
  relativeTimecode: number;
  /** SimpleBlock: the keyframe flag; Block: its BlockGroup has no ReferenceBlock. */
  keyframe: boolean;
  /** Bytes after the block header (track number, timecode, flags): the frame data, or all laced frames. */
  size: number;
};

export type MkvEvent =
  /** Before the first Cluster of a Segment, and before the next Cluster after an Info or Tracks element. */
  | { kind: 'header'; header: TrackHeader }
  /** `offset`: input offset of the Cluster's ID. */
  | { kind: 'clusterStart'; offset: number }
  /** Raw Cluster Timecode value, in TimecodeScale units. */
  | { kind: 'clusterTimecode'; timecode: number }
  /** One per SimpleBlock, or per BlockGroup (emitted when the BlockGroup ends). */
  | FrameEvent
  /**
   * The next raw bytes of the current Cluster (views of the pushed chunks, not copies). Concatenating all
   * clusterData between clusterStart and clusterEnd gives the cluster exactly as received, ID included.
   */
  | { kind: 'clusterData'; bytes: Buffer }
  /** `offset`: input offset of the Cluster's ID (as in clusterStart); `size`: ID + size field + payload. */
  | { kind: 'clusterEnd'; offset: number; size: number }
  /** A level-1 Tags element (outside clusters), flattened to its SimpleTags. */
  | { kind: 'tags'; simpleTags: { name: string; value: string }[] };
