/**
 * Quotas: token buckets per stream and per account for each API, concurrent-connection limits per stream,
 * and a per-stream byte rate for PutMedia uploads. Off by default; `--quotas aws` applies AWS's published
 * numbers (docs/kvs-wire.md "Quotas"), `--quotas FILE` a JSON file:
 *
 *   { "extends": "aws",                      // optional: start from AWS's numbers ("none" = from nothing)
 *     "operations": {
 *       "ListFragments": { "tpsPerStream": 20 },
 *       "PutMedia": { "connectionsPerStream": 2, "onConnectionLimit": "reject", "bytesPerSecondPerStream": 1000000 },
 *       "CreateStream": { "tpsPerAccount": null } } }   // null removes a limit inherited from "extends"
 *
 * A rate of N per second is a bucket of N tokens (or `burst…`) refilled at N per second: N requests may come
 * at once, then N per second. Over a rate → ClientLimitExceededException (400), over a connection limit →
 * ConnectionLimitExceededException (400) — except where the policy is "replace-oldest" (AWS's PutMedia: "the
 * last connection is accepted"), where the oldest connection is ended and the new one is accepted.
 * The per-stream key is the stream name (from StreamName, or from inside StreamARN), so a client that
 * alternates name and ARN draws from one bucket. Buckets live in memory (one kvsd process = one account).
 */
import { readFileSync } from 'node:fs';
import { type ApiError, clientLimitExceeded, connectionLimitExceeded } from '../protocol/errors.js';
import { TokenBucket } from '../protocol/tokenBucket.js';

export interface OperationQuota {
  tpsPerStream?: number | null;
  burstPerStream?: number | null;
  tpsPerAccount?: number | null;
  burstPerAccount?: number | null;
  connectionsPerStream?: number | null;
  /** Active playback sessions per stream (GetHLS/DASHStreamingSessionURL): a new one past it revokes the oldest. */
  sessionsPerStream?: number | null;
  /** Requests per second per playback session (HLS and DASH session resources, keyed by their token's session). */
  tpsPerSession?: number | null;
  /** What a connection over the limit does: refused (default) or accepted by ending the oldest one. */
  onConnectionLimit?: 'reject' | 'replace-oldest';
  /** Upload bytes per second per stream (PutMedia): reading is paused, never refused. */
  bytesPerSecondPerStream?: number | null;
}

export interface QuotaConfig {
  operations: Record<string, OperationQuota>;
}

const perStreamAndAccount = (stream: number, account: number): OperationQuota => ({
  tpsPerStream: stream,
  tpsPerAccount: account,
});

/** AWS's published numbers (docs/kvs-wire.md "Quotas"). */
export const AWS_QUOTAS: QuotaConfig = {
  operations: {
    CreateStream: { tpsPerAccount: 50 },
    DescribeStream: perStreamAndAccount(5, 300),
    GetDataEndpoint: perStreamAndAccount(5, 300),
    UpdateStream: perStreamAndAccount(5, 50),
    DeleteStream: perStreamAndAccount(5, 50),
    UpdateDataRetention: perStreamAndAccount(5, 50),
    TagStream: perStreamAndAccount(5, 50),
    UntagStream: perStreamAndAccount(5, 50),
    ListTagsForStream: perStreamAndAccount(5, 50),
    ListStreams: { tpsPerAccount: 50 },
    PutMedia: {
      tpsPerStream: 5,
      connectionsPerStream: 1,
      onConnectionLimit: 'replace-oldest',
      bytesPerSecondPerStream: 12_500_000,
    },
    GetMedia: { tpsPerStream: 5, connectionsPerStream: 3 },
    ListFragments: { tpsPerStream: 5 },
    GetMediaForFragmentList: { tpsPerStream: 5, connectionsPerStream: 5 },
    GetClip: { tpsPerStream: 1, tpsPerAccount: 25 },
    GetImages: { tpsPerStream: 5 },
    GetHLSStreamingSessionURL: { tpsPerStream: 1, burstPerStream: 5, sessionsPerStream: 10 },
    GetDASHStreamingSessionURL: { tpsPerStream: 1, burstPerStream: 5, sessionsPerStream: 10 },
    // The session resources, per session (AWS's HLS and DASH quotas).
    GetHLSMasterPlaylist: { tpsPerSession: 5 },
    GetHLSMediaPlaylist: { tpsPerSession: 5 },
    GetDASHManifest: { tpsPerSession: 5 },
    GetMP4InitFragment: { tpsPerSession: 5 },
    GetMP4MediaFragment: { tpsPerSession: 10 },
    GetTSFragment: { tpsPerSession: 10 },
  },
};

export class QuotaConfigError extends Error {}

const QUOTA_KEYS = [
  'tpsPerStream',
  'burstPerStream',
  'tpsPerAccount',
  'burstPerAccount',
  'connectionsPerStream',
  'tpsPerSession',
  'sessionsPerStream',
  'onConnectionLimit',
  'bytesPerSecondPerStream',
];

/** Validates a quota file's JSON and merges it over what it extends. */
export function parseQuotaConfig(value: unknown, source = 'quota configuration'): QuotaConfig {
  const fail = (msg: string): never => {
    throw new QuotaConfigError(`${source}: ${msg}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('must be a JSON object');
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v))
    if (!['extends', 'operations', '$comment'].includes(key)) fail(`unknown key "${key}"`);
  if (v.extends !== undefined && v.extends !== 'aws' && v.extends !== 'none') fail('"extends" must be "aws" or "none"');
  const base: QuotaConfig = v.extends === 'aws' ? structuredClone(AWS_QUOTAS) : { operations: {} };
  const ops = v.operations ?? {};
  if (typeof ops !== 'object' || ops === null || Array.isArray(ops))
    fail('"operations" must be an object keyed by operation name');
  for (const [name, q] of Object.entries(ops as Record<string, unknown>)) {
    if (!/^[A-Za-z]+$/.test(name)) fail(`"${name}" is not an operation name (e.g. "ListFragments")`);
    if (typeof q !== 'object' || q === null || Array.isArray(q)) fail(`operations.${name} must be an object`);
    const merged: OperationQuota = { ...base.operations[name] };
    for (const [key, val] of Object.entries(q as Record<string, unknown>)) {
      if (!QUOTA_KEYS.includes(key)) fail(`operations.${name}: unknown key "${key}" (known: ${QUOTA_KEYS.join(', ')})`);
      if (key === 'onConnectionLimit') {
        if (val !== 'reject' && val !== 'replace-oldest')
          fail(`operations.${name}.onConnectionLimit must be "reject" or "replace-oldest"`);
        merged.onConnectionLimit = val as 'reject' | 'replace-oldest';
      } else if (val === null) {
        (merged as Record<string, unknown>)[key] = null;
      } else if (typeof val !== 'number' || !(val > 0) || !Number.isFinite(val)) {
        fail(`operations.${name}.${key} must be a positive number, or null to remove the limit`);
      } else {
        if ((key === 'connectionsPerStream' || key === 'sessionsPerStream') && !Number.isInteger(val))
          fail(`operations.${name}.${key} must be an integer`);
        (merged as Record<string, unknown>)[key] = val;
      }
    }
    base.operations[name] = merged;
  }
  return base;
}

export function loadQuotaFile(file: string): QuotaConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new QuotaConfigError(`cannot read the quota file ${file}: ${(err as Error).message}`);
  }
  return parseQuotaConfig(json, `quota file ${file}`);
}

/** One open streaming connection holding a slot. */
interface Slot {
  opened: number;
  evict: () => void;
}

export interface Admission {
  /** Frees the connection slot (idempotent). */
  release(): void;
  /** The upload byte-rate bucket of the stream, if it has one. */
  bandwidth?: TokenBucket;
}

const MAX_BUCKETS = 50_000;
/** Revoked session ids remembered (a revoked session's token stays valid until it expires, 12 h at most). */
const MAX_REVOKED = 100_000;

export class QuotaEnforcer {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly slots = new Map<string, Set<Slot>>();
  /** Per operation and stream: its active playback sessions, oldest first. */
  private readonly sessions = new Map<string, string[]>();
  private readonly revokedSessions = new Set<string>();

  constructor(
    readonly config: QuotaConfig,
    private readonly now: () => number = Date.now,
  ) {}

  private bucket(key: string, rate: number, capacity: number): TokenBucket {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= MAX_BUCKETS) {
        // Buckets that refilled completely carry no state: forget them.
        for (const [k, old] of this.buckets) if (old.full) this.buckets.delete(k);
      }
      b = new TokenBucket(rate, capacity, this.now);
      this.buckets.set(key, b);
    }
    return b;
  }

  /**
   * Admits one request of `operation` on `stream` (undefined for stream-less operations) or in a playback
   * `session`: checks the rates,
   * then takes a connection slot for streaming operations. Throws ClientLimitExceededException or
   * ConnectionLimitExceededException. `evict` ends this connection if a newer one replaces it.
   */
  admit(
    operation: string,
    stream: string | undefined,
    opts: { streaming?: boolean; evict?: () => void; session?: string } = {},
  ): Admission {
    const q = this.config.operations[operation];
    const none: Admission = { release: () => {} };
    if (!q) return none;
    const checks: { bucket: TokenBucket; error: () => ApiError }[] = [];
    if (q.tpsPerStream && stream !== undefined) {
      const rate = q.tpsPerStream;
      checks.push({
        bucket: this.bucket(`s\0${operation}\0${stream}`, rate, q.burstPerStream ?? Math.max(1, rate)),
        error: () =>
          clientLimitExceeded(
            `The rate of ${operation} requests on stream ${stream} exceeds the limit of ${rate} per second.`,
          ),
      });
    }
    if (q.tpsPerSession && opts.session !== undefined) {
      const rate = q.tpsPerSession;
      checks.push({
        bucket: this.bucket(`p\0${operation}\0${opts.session}`, rate, Math.max(1, rate)),
        error: () =>
          clientLimitExceeded(
            `The rate of ${operation} requests in this session exceeds the limit of ${rate} per second.`,
          ),
      });
    }
    if (q.tpsPerAccount) {
      const rate = q.tpsPerAccount;
      checks.push({
        bucket: this.bucket(`a\0${operation}`, rate, q.burstPerAccount ?? Math.max(1, rate)),
        error: () =>
          clientLimitExceeded(
            `The rate of ${operation} requests in this account exceeds the limit of ${rate} per second.`,
          ),
      });
    }
    // Take from every bucket or from none.
    for (const c of checks) if (c.bucket.peek() < 1) throw c.error();
    for (const c of checks) c.bucket.tryTake(1);

    if (!opts.streaming || stream === undefined) return none;
    let release = () => {};
    if (q.connectionsPerStream) {
      const key = `${operation}\0${stream}`;
      let set = this.slots.get(key);
      if (!set) this.slots.set(key, (set = new Set()));
      if (set.size >= q.connectionsPerStream) {
        if (q.onConnectionLimit !== 'replace-oldest') {
          throw connectionLimitExceeded(
            `The stream ${stream} already has ${set.size} open ${operation} connection${set.size === 1 ? '' : 's'}, the most allowed.`,
          );
        }
        const oldest = [...set].sort((a, b) => a.opened - b.opened).slice(0, set.size - q.connectionsPerStream + 1);
        for (const s of oldest) {
          set.delete(s);
          s.evict();
        }
      }
      const slot: Slot = { opened: this.now(), evict: opts.evict ?? (() => {}) };
      set.add(slot);
      const held = set;
      let released = false;
      release = () => {
        if (released) return;
        released = true;
        held.delete(slot);
        if (held.size === 0 && this.slots.get(key) === held) this.slots.delete(key);
      };
    }
    const admission: Admission = { release };
    if (q.bytesPerSecondPerStream) {
      const rate = q.bytesPerSecondPerStream;
      admission.bandwidth = this.bucket(`b\0${operation}\0${stream}`, rate, rate);
    }
    return admission;
  }

  /**
   * Counts a new playback session on the stream; past the operation's sessionsPerStream, the oldest
   * session is revoked (AWS: "the 11th session revokes the oldest"). In memory: per node.
   */
  issued(operation: string, stream: string, sessionId: string): void {
    const max = this.config.operations[operation]?.sessionsPerStream;
    if (!max) return;
    const key = `${operation}\0${stream}`;
    const active = this.sessions.get(key) ?? [];
    active.push(sessionId);
    while (active.length > max) {
      if (this.revokedSessions.size >= MAX_REVOKED) {
        this.revokedSessions.delete(this.revokedSessions.values().next().value!);
      }
      this.revokedSessions.add(active.shift()!);
    }
    this.sessions.set(key, active);
  }

  revoked(sessionId: string): boolean {
    return this.revokedSessions.has(sessionId);
  }

  /** Open connections of an operation on a stream (for tests and logs). */
  connections(operation: string, stream: string): number {
    return this.slots.get(`${operation}\0${stream}`)?.size ?? 0;
  }
}
