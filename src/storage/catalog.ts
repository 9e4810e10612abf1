/**
 * The catalog: streams, tags, track headers and the fragment index. Every implementation (SQLite
 * embedded, PostgreSQL for scale-out) passes the same conformance suite (test/storage/catalog.conformance.ts).
 * Methods are async so that a networked implementation fits behind the same interface.
 */
export interface StreamRecord {
  id: number;
  name: string;
  arn: string;
  deviceName?: string;
  mediaType?: string;
  kmsKeyId: string;
  version: string;
  status: 'CREATING' | 'ACTIVE' | 'UPDATING' | 'DELETING';
  creationMs: number;
  retentionHours: number;
  storageTier: string;
}

export type NewStream = Omit<StreamRecord, 'id'> & { tags: Record<string, string> };

export interface StreamPatch {
  deviceName?: string;
  mediaType?: string;
  retentionHours?: number;
  version: string;
}

/** One stored fragment: where its bytes are, and what ListFragments reports about it. */
export interface FragmentRecord {
  streamId: number;
  /** Global ingestion sequence: orders fragments and makes fragment numbers unique across streams. */
  seq: number;
  producerMs: number;
  serverMs: number;
  lengthMs: number;
  size: number;
  /** Random low bits of the fragment number, so that numbers cannot be guessed from the sequence. */
  nonce: number;
  headerId: number;
  segment: number;
  offset: number;
  /**
   * What ListFragments reports about the fragment, rendered once when it is stored
   * (src/protocol/fragmentEntry.ts). Opaque to the catalog, which keeps it in its listing indexes and hands
   * it back as is.
   */
  entry: string;
}

/** What a listing row holds: its keys and its entry, read from a covering index. */
export type ListedFragment = Pick<FragmentRecord, 'seq' | 'producerMs' | 'serverMs' | 'entry'>;

/** A run of listing entries in listing order, joined by ',' in one buffer. */
export interface JoinedEntries {
  joined: Buffer;
  count: number;
}

export type TimestampKind = 'producer' | 'server';

/**
 * A media segment as the catalog knows it: who writes it, or that it is written no more, how big it is, and
 * which server timestamps its fragments span (what retention and disk-pressure eviction rank segments by).
 */
export interface SegmentRecord {
  id: number;
  streamId: number;
  /** 'open': being written by `owner`, never dropped; 'sealed': complete, dropped once it holds no fragment. */
  state: 'open' | 'sealed';
  /** The node id of the process that writes (or wrote) it; absent for segments of catalogs before segment state. */
  owner?: string;
  openedMs?: number;
  sealedMs?: number;
  /** Its length once sealed by its writer (absent when sealed as abandoned: the writer's count died with it). */
  bytes?: number;
  /** Smallest and greatest server timestamp of the fragments the catalog holds in it; absent when it holds none. */
  firstServerMs?: number;
  lastServerMs?: number;
}

export interface FragmentRange {
  streamId: number;
  kind: TimestampKind;
  /** Exclusive keyset cursor: rows with (timestamp, seq) strictly greater are returned. */
  afterMs: number;
  afterSeq: number;
  /** Inclusive upper bound of the selected timestamp. */
  endMs: number;
  /** Retention horizon: fragments whose server timestamp is older are expired. */
  minServerMs: number;
  limit: number;
}

export interface Catalog {
  /** Creates a live stream; throws NameTakenError if a live stream has the name. */
  createStream(stream: NewStream): Promise<StreamRecord>;
  getStream(id: number): Promise<StreamRecord | undefined>;
  findStreamByName(name: string): Promise<StreamRecord | undefined>;
  findStreamByArn(arn: string): Promise<StreamRecord | undefined>;
  /** Live streams in name order, strictly after `afterName`, optionally with a name prefix. */
  listStreams(opts: { prefix?: string; afterName?: string; limit: number }): Promise<StreamRecord[]>;
  /** Applies the patch if the stream is live and its version is `expectedVersion`; false otherwise. */
  updateStream(id: number, expectedVersion: string, patch: StreamPatch): Promise<boolean>;
  /** Takes the stream out of service at once (its name is free again); data is purged later. */
  markDeleted(id: number): Promise<boolean>;
  /** Streams marked deleted whose data has not been purged yet. */
  listDeletedStreams(): Promise<number[]>;
  /** Removes every trace of a deleted stream from the catalog. */
  purgeStream(id: number): Promise<void>;

  getTags(id: number): Promise<Record<string, string>>;
  /** Sets tags; fails with TooManyTagsError if the stream would hold more than `max`. */
  putTags(id: number, tags: Record<string, string>, max: number): Promise<void>;
  removeTags(id: number, keys: string[]): Promise<void>;

  addTrackHeader(streamId: number, bytes: Buffer): Promise<number>;
  /** A track header by id; with `streamId`, only if it belongs to that stream (a session token names one). */
  getTrackHeader(id: number, streamId?: number): Promise<Buffer | undefined>;

  /** Reserves `count` consecutive fragment sequence numbers that are never handed out again. */
  reserveSequence(count: number): Promise<number>;
  /**
   * A new media segment id for the stream (segments are append-only files of the media store), recorded as
   * open: being written by `owner` (a process's node id). Retention never drops an open segment.
   */
  newSegment(streamId: number, owner: string): Promise<number>;
  /** The segment is written no more: `bytes` long, every fragment in it committed. */
  sealSegment(id: number, bytes: number): Promise<void>;
  /**
   * Seals every open segment whose owner is not `liveOwner`: their writers are gone (called by the holder of
   * the data-directory lock when it starts, so no other process can be writing). Returns how many.
   */
  sealAbandonedSegments(liveOwner: string): Promise<number>;
  /** Inserts fragments atomically and durably: when this resolves they survive a crash. */
  insertFragments(rows: FragmentRecord[]): Promise<void>;
  listFragments(range: FragmentRange): Promise<ListedFragment[]>;
  /**
   * The same rows as listFragments, only their entries, joined by ',' (ListFragments' hot path: one read,
   * one buffer). Implementations may read on other threads or connections; what insertFragments had
   * committed before the call is visible.
   */
  joinFragmentEntries(range: FragmentRange): Promise<JoinedEntries>;
  getFragment(streamId: number, seq: number): Promise<FragmentRecord | undefined>;
  /** Fragments in ingestion order with seq > afterSeq (GetMedia). */
  fragmentsAfter(streamId: number, afterSeq: number, limit: number): Promise<FragmentRecord[]>;
  /** The fragment with the smallest (selected timestamp, seq) whose timestamp is >= atMs (an index seek). */
  firstFragmentAt(streamId: number, kind: TimestampKind, atMs: number): Promise<FragmentRecord | undefined>;
  /** The fragment with the greatest (selected timestamp, seq) whose timestamp is <= atMs (an index seek). */
  lastFragmentAtOrBefore(streamId: number, kind: TimestampKind, atMs: number): Promise<FragmentRecord | undefined>;
  lastFragment(streamId: number): Promise<FragmentRecord | undefined>;
  /** Deletes the stream's fragments whose server timestamp is older than the horizon; returns how many. */
  expireFragments(streamId: number, minServerMs: number): Promise<number>;
  /** The stream's segments in id (creation) order, with their state. */
  listSegments(streamId: number): Promise<SegmentRecord[]>;
  /** Forgets the stream's sealed segments that hold no fragment (never an open one); returns their ids. */
  dropEmptySegments(streamId: number): Promise<number[]>;

  /** A small key/value store for server-wide settings (e.g. the sequence counter, the pagination-token key). */
  getSetting(key: string): Promise<string | undefined>;
  setSetting(key: string, value: string): Promise<void>;
  /**
   * Stores `value` under `key` unless the key has a value already, atomically (an insert-if-absent), and returns
   * the value stored: callers racing from any number of processes all get the first one's value.
   */
  initSetting(key: string, value: string): Promise<string>;
  close(): Promise<void>;
}

export class NameTakenError extends Error {}
export class TooManyTagsError extends Error {}
