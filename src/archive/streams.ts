/**
 * Streams: creation, lookup by name or ARN, metadata updates with optimistic versions, tags, deletion.
 */
import { randomInt } from 'node:crypto';
import { invalidArgument, resourceInUse, streamNotFound, versionMismatch, ApiError } from '../protocol/errors.js';
import type { Catalog, StreamRecord } from '../storage/catalog.js';
import { NameTakenError, TooManyTagsError } from '../storage/catalog.js';
import { InProcessArchiveEvents, type ArchiveEvents } from './events.js';

export const MAX_TAGS_PER_STREAM = 50;
export const MAX_RETENTION_HOURS = 87600;

export interface StreamRef {
  StreamName?: string;
  StreamARN?: string;
}

export interface Identity {
  region: string;
  accountId: string;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** 20 random alphanumerics, as real stream versions are. */
export function newVersion(): string {
  let v = '';
  for (let i = 0; i < 20; i++) v += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return v;
}

/**
 * How long a hot read path may reuse a stream lookup (see resolveRecent): changes announced by events are
 * forgotten at once; this bounds how stale a lookup can be when an event is lost (a networked ArchiveEvents).
 */
const RECENT_MS = 1000;
const RECENT_MAX = 10_000;

/**
 * The streams of the archive. Every change it makes is published on `events` (streamChanged after a
 * creation or an update, streamDeleted after a deletion): ingest and readers on the stream follow them.
 */
export class StreamRegistry {
  /**
   * Recent lookups by 'n:' + name and 'a:' + ARN; a stream's entries are forgotten on its streamChanged and
   * streamDeleted events, whichever process changed it (a stream not found is never remembered).
   */
  private readonly recent = new Map<string, { stream: StreamRecord; at: number }>();
  /** Bumped on every change: a lookup that raced a change is not remembered. */
  private generation = 0;

  private forgetRecent(stream: StreamRecord) {
    this.recent.delete(`n:${stream.name}`);
    this.recent.delete(`a:${stream.arn}`);
    this.generation++;
  }

  constructor(
    private readonly catalog: Catalog,
    private readonly id: Identity,
    private readonly events: ArchiveEvents = new InProcessArchiveEvents(),
  ) {
    events.subscribe('streamChanged', ({ stream }) => this.forgetRecent(stream));
    events.subscribe('streamDeleted', ({ stream }) => this.forgetRecent(stream));
  }

  arnFor(name: string, creationMs: number) {
    return `arn:aws:kinesisvideo:${this.id.region}:${this.id.accountId}:stream/${name}/${creationMs}`;
  }

  /** The last creation time handed out: creation times (and so ARNs) strictly increase. */
  private lastCreationMs = 0;

  async create(input: {
    StreamName: string;
    DeviceName?: string;
    MediaType?: string;
    KmsKeyId?: string;
    DataRetentionInHours?: number;
    Tags?: Record<string, string>;
    StreamStorageConfiguration?: { DefaultStorageTier?: string };
  }): Promise<StreamRecord> {
    for (let attempt = 1; ; attempt++) {
      // The ARN embeds the creation time: a stream re-created in the millisecond its predecessor of the same
      // name was deleted in must still get a new ARN (the old one must never name it).
      const creationMs = Math.max(Date.now(), this.lastCreationMs + 1);
      this.lastCreationMs = creationMs;
      try {
        const stream = await this.catalog.createStream({
          name: input.StreamName,
          arn: this.arnFor(input.StreamName, creationMs),
          ...(input.DeviceName !== undefined && { deviceName: input.DeviceName }),
          ...(input.MediaType !== undefined && { mediaType: input.MediaType }),
          kmsKeyId: input.KmsKeyId ?? `arn:aws:kms:${this.id.region}:${this.id.accountId}:alias/aws/kinesisvideo`,
          version: newVersion(),
          // CreateStream is asynchronous on AWS; kvsd's streams are usable at once.
          status: 'ACTIVE',
          creationMs,
          retentionHours: input.DataRetentionInHours ?? 0,
          storageTier: input.StreamStorageConfiguration?.DefaultStorageTier ?? 'HOT',
          tags: input.Tags ?? {},
        });
        this.events.publish('streamChanged', { stream });
        return stream;
      } catch (err) {
        if (!(err instanceof NameTakenError)) throw err;
        // A live stream has the name: the caller's conflict. Otherwise the ARN collided with a deleted stream
        // not purged yet (another process, or the clock stepped back): the next millisecond gives a new ARN.
        if (attempt >= 5 || (await this.catalog.findStreamByName(input.StreamName))) {
          throw resourceInUse(`The stream ${input.StreamName} already exists.`);
        }
      }
    }
  }

  /**
   * The live stream named by StreamName and/or StreamARN. With both, they must name the same stream.
   * An ARN that names no live stream (including an earlier stream of the same name) is not found.
   */
  async resolve(ref: StreamRef): Promise<StreamRecord> {
    const byArn = ref.StreamARN !== undefined ? await this.catalog.findStreamByArn(ref.StreamARN) : undefined;
    if (ref.StreamARN !== undefined && !byArn) throw streamNotFound();
    if (ref.StreamName !== undefined) {
      if (byArn) {
        if (byArn.name !== ref.StreamName) throw invalidArgument('StreamName and StreamARN name different streams.');
        return byArn;
      }
      const byName = await this.catalog.findStreamByName(ref.StreamName);
      if (!byName) throw streamNotFound();
      return byName;
    }
    if (byArn) return byArn;
    throw invalidArgument('Either StreamName or StreamARN must be specified.');
  }

  /**
   * resolve() for the read-only hot paths (ListFragments): a lookup of the last second is reused, unless an
   * event said the stream changed since. (`kvsd seed`, another process on the same catalog, only creates
   * streams: a stream not found is never remembered, so its creations need no event here.)
   */
  async resolveRecent(ref: StreamRef, now = Date.now()): Promise<StreamRecord> {
    const key = ref.StreamARN !== undefined ? `a:${ref.StreamARN}` : `n:${ref.StreamName ?? ''}`;
    const hit = this.recent.get(key);
    if (hit && now - hit.at < RECENT_MS && (ref.StreamName === undefined || ref.StreamName === hit.stream.name))
      return hit.stream;
    const generation = this.generation;
    const stream = await this.resolve(ref);
    if (generation === this.generation) {
      if (this.recent.size >= RECENT_MAX) this.recent.clear();
      this.recent.set(key, { stream, at: now });
    }
    return stream;
  }

  async byId(id: number) {
    return this.catalog.getStream(id);
  }

  async list(opts: { prefix?: string; afterName?: string; limit: number }) {
    return this.catalog.listStreams(opts);
  }

  async tags(stream: StreamRecord) {
    return this.catalog.getTags(stream.id);
  }

  async update(
    stream: StreamRecord,
    currentVersion: string,
    patch: { deviceName?: string; mediaType?: string; retentionHours?: number },
  ) {
    if (stream.version !== currentVersion) throw this.staleVersion(stream);
    const ok = await this.catalog.updateStream(stream.id, currentVersion, { ...patch, version: newVersion() });
    if (!ok) throw this.staleVersion(stream);
    const updated = await this.catalog.getStream(stream.id);
    // Not found: deleted meanwhile, and that deletion has its own event.
    if (updated) this.events.publish('streamChanged', { stream: updated });
  }

  private staleVersion(stream: StreamRecord) {
    return versionMismatch(
      `The version of stream ${stream.name} is not the version you specified (CurrentVersion). Describe the stream for its current version.`,
    );
  }

  async updateRetention(stream: StreamRecord, currentVersion: string, operation: string, changeHours: number) {
    const next =
      operation === 'INCREASE_DATA_RETENTION'
        ? stream.retentionHours + changeHours
        : stream.retentionHours - changeHours;
    if (next < 0 || next > MAX_RETENTION_HOURS) {
      throw invalidArgument(
        `DataRetentionChangeInHours ${changeHours} would take the retention of stream ${stream.name} from ${stream.retentionHours} to ${next} hours; it must stay between 0 and ${MAX_RETENTION_HOURS}.`,
      );
    }
    await this.update(stream, currentVersion, { retentionHours: next });
  }

  async delete(arn: string, currentVersion?: string) {
    const stream = await this.catalog.findStreamByArn(arn);
    if (!stream) throw streamNotFound();
    if (currentVersion !== undefined && currentVersion !== stream.version) throw this.staleVersion(stream);
    const deleted = await this.catalog.markDeleted(stream.id);
    if (!deleted) throw streamNotFound();
    this.events.publish('streamDeleted', { stream });
  }

  async tag(stream: StreamRecord, tags: Record<string, string>) {
    try {
      await this.catalog.putTags(stream.id, tags, MAX_TAGS_PER_STREAM);
    } catch (err) {
      if (err instanceof TooManyTagsError) {
        throw new ApiError(
          'TagsPerResourceExceededLimitException',
          400,
          `The stream ${stream.name} can hold at most ${MAX_TAGS_PER_STREAM} tags.`,
        );
      }
      throw err;
    }
  }

  async untag(stream: StreamRecord, keys: string[]) {
    await this.catalog.removeTags(stream.id, keys);
  }
}
