/**
 * The archive: the domain object the operations talk to. It owns the catalog and the media store and
 * runs the background work: purging deleted streams and expiring fragments past their retention.
 */
import { PlaybackSelector } from './playback.js';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Catalog, FragmentRecord, StreamRecord } from '../storage/catalog.js';
import type { MediaStore } from '../storage/mediaStore.js';
import type { Storage } from '../storage/open.js';
import { InProcessArchiveEvents, type ArchiveEvents } from './events.js';
import { follow, type FollowOptions, type Following } from './follow.js';
import { StreamRegistry, type Identity } from './streams.js';
import { TokenSealer } from './tokens.js';
import { SortedListing } from './sortedListing.js';
import { retentionHorizon } from './retention.js';
import { FragmentReader } from './fragmentReader.js';
import { LiveBuffer, type BufferedFragment, type LiveBufferOptions } from './liveBuffer.js';
import { Committer } from './committer.js';
import { SequenceAllocator } from './sequence.js';
import { IngestSession, type Ack, type SessionOptions } from './ingest.js';

export interface ArchiveOptions extends Identity {
  /** How often retention is enforced in the background (ms). */
  sweepIntervalMs?: number;
  /** Where a kvsd before the key was kept in the catalog kept the pagination-token key (migrated once). */
  legacyTokenKeyFile?: string;
  /** The host buffer of streams that retain nothing: its global cap and max age (src/archive/liveBuffer.ts). */
  liveBuffer?: LiveBufferOptions;
  log?: (event: Record<string, unknown>) => void;
}

export class Archive {
  readonly streams: StreamRegistry;
  readonly lister: SortedListing;
  readonly reader: FragmentReader;
  /** What HLS and DASH sessions list (src/archive/playback.ts). */
  readonly playback: PlaybackSelector;
  /** Recent fragments of streams that retain nothing, for GetMedia. */
  readonly liveBuffer: LiveBuffer;
  private sweepTimer?: NodeJS.Timeout;
  private maintenance: Promise<void> = Promise.resolve();
  /** This process in the catalog: the owner of the segments its PutMedia sessions write. */
  readonly nodeId = `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
  private readonly committer: Committer;
  private readonly sequence: SequenceAllocator;
  /** Live PutMedia sessions per stream id, so that deleting a stream stops them. */
  private readonly sessions = new Map<number, Set<IngestSession>>();
  /**
   * What happens in the archive (src/archive/events.ts): fragments persisted or buffered, streams changed
   * or deleted. In-process for now: a networked implementation (several nodes over one catalog) goes here.
   */
  readonly events: ArchiveEvents = new InProcessArchiveEvents();

  readonly catalog: Catalog;
  readonly media: MediaStore;

  private constructor(
    private readonly storage: Storage,
    readonly tokens: TokenSealer,
    readonly identity: Identity,
    private readonly log: (event: Record<string, unknown>) => void,
    liveBuffer: LiveBufferOptions = {},
  ) {
    const { catalog, media } = storage;
    this.catalog = catalog;
    this.media = media;
    this.liveBuffer = new LiveBuffer(liveBuffer);
    this.streams = new StreamRegistry(catalog, identity, this.events);
    this.lister = new SortedListing(catalog, tokens);
    this.reader = new FragmentReader(catalog, media, this.liveBuffer, log);
    this.playback = new PlaybackSelector(catalog);
    this.committer = new Committer(catalog);
    this.sequence = new SequenceAllocator(catalog);
    this.events.subscribe('streamDeleted', ({ stream }) => {
      this.liveBuffer.drop(stream.id);
      for (const session of this.sessions.get(stream.id) ?? []) void session.abort(4008, 'the stream was deleted');
    });
    this.events.subscribe('streamChanged', ({ stream }) => {
      for (const session of this.sessions.get(stream.id) ?? []) session.streamUpdated(stream);
    });
  }

  /**
   * Follows a stream live (src/archive/follow.ts): subscribes now, so call it before reading the cursor
   * to start from; then iterate `fragmentsAfter(cursor, signal)`.
   */
  follow(stream: StreamRecord, opts?: FollowOptions): Following {
    return follow(this.reader, this.events, stream, opts);
  }

  /** Opens a PutMedia session; `ack` receives its acknowledgements in order. */
  openIngest(opts: SessionOptions, ack: (a: Ack) => void): { session: IngestSession; done: () => void } {
    const session = new IngestSession(
      {
        catalog: this.catalog,
        media: this.media,
        committer: this.committer,
        sequence: this.sequence,
        nodeId: this.nodeId,
        log: this.log,
        onPersisted: (stream: StreamRecord, fragment: FragmentRecord) => {
          this.events.publish('fragmentPersisted', { stream, fragment });
        },
        reserveLive: () => this.liveBuffer.reserve(),
        onBuffered: (stream: StreamRecord, fragment: BufferedFragment) => {
          this.liveBuffer.add(stream.id, fragment);
          this.events.publish('fragmentBuffered', { streamId: stream.id, seq: fragment.seq });
        },
      },
      opts,
      ack,
    );
    const id = opts.stream.id;
    let set = this.sessions.get(id);
    if (!set) this.sessions.set(id, (set = new Set()));
    set.add(session);
    return {
      session,
      done: () => {
        set!.delete(session);
        if (set!.size === 0 && this.sessions.get(id) === set) this.sessions.delete(id);
      },
    };
  }

  /**
   * Starts the archive on storage opened for this process alone (src/storage/open.ts holds the data-directory
   * lock, so that nothing else sweeps retention or writes segments). The archive owns the storage from
   * here: close() closes it, and so does a failed open.
   */
  static async open(storage: Storage, opts: ArchiveOptions): Promise<Archive> {
    try {
      const tokens = await TokenSealer.fromCatalog(storage.catalog, opts.legacyTokenKeyFile, opts.log);
      const identity = { region: opts.region, accountId: opts.accountId };
      const archive = new Archive(storage, tokens, identity, opts.log ?? (() => {}), opts.liveBuffer);
      await archive.start(opts);
      return archive;
    } catch (err) {
      await storage.close().catch(() => undefined);
      throw err;
    }
  }

  private async start(opts: ArchiveOptions) {
    // Segments left open by a process that ended (crashed, killed) have no writer any more: sealed, they
    // become ordinary segments that retention can drop once empty. The lock says no other process writes.
    const abandoned = await this.catalog.sealAbandonedSegments(this.nodeId);
    if (abandoned > 0)
      this.log({ level: 'info', msg: 'sealed segments left open by an earlier process', segments: abandoned });
    this.liveBuffer.startSweeping();
    // Deletions acknowledged before a crash are finished now.
    this.schedule(() => this.purgeDeleted());
    const interval = opts.sweepIntervalMs ?? 60_000;
    this.sweepTimer = setInterval(() => this.schedule(() => this.expireAll()), interval);
    this.sweepTimer.unref();
  }

  /** Runs background work one job at a time, logging (never throwing) failures. */
  private schedule(job: () => Promise<void>) {
    this.maintenance = this.maintenance.then(job).catch((err: unknown) => {
      this.log({ level: 'error', msg: 'background maintenance failed', error: String(err) });
    });
  }

  async deleteStream(arn: string, currentVersion?: string) {
    await this.streams.delete(arn, currentVersion);
    this.schedule(() => this.purgeDeleted());
  }

  private async purgeDeleted() {
    // Fragments of a deleted stream still in a commit batch land first, then go with the rest.
    await this.committer.drained();
    for (const id of await this.catalog.listDeletedStreams()) {
      // Files first: if we crash in between, the catalog still lists the stream for the next purge.
      await this.media.removeStream(id);
      await this.catalog.purgeStream(id);
    }
  }

  /** Enforces retention on every stream: fragments older than DataRetentionInHours go, and their files. */
  async expireAll(now = Date.now()) {
    let after = '';
    for (;;) {
      const streams = await this.catalog.listStreams({ afterName: after, limit: 500 });
      if (streams.length === 0) return;
      for (const s of streams) {
        if (s.retentionHours > 0) await this.catalog.expireFragments(s.id, retentionHorizon(s, now));
        const empty = await this.catalog.dropEmptySegments(s.id);
        if (empty.length > 0) await this.media.removeSegments(s.id, empty);
      }
      after = streams[streams.length - 1]!.name;
    }
  }

  /** Waits for background work, then closes storage. */
  async close() {
    clearInterval(this.sweepTimer);
    this.liveBuffer.stopSweeping();
    await this.maintenance;
    await this.storage.close();
  }
}
