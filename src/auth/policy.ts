/**
 * Who may do what: the principals of an `--auth` file, their keys, and their allow rules.
 *
 *   { "principals": [ { "name": "camera-1", "accessKeyId": "AKIA…", "secretAccessKey": "…",
 *                       "allow": [ { "actions": ["kinesisvideo:PutMedia"], "streams": ["cam-1"] } ] } ] }
 *
 * Actions are IAM-style ("kinesisvideo:" + operation name) and may hold `*` / `?` wildcards, matched
 * case-insensitively as IAM matches actions. Streams are globs over stream names (case-sensitive); a
 * request naming a stream by ARN is checked with the name inside the ARN. Operations that name no stream
 * (ListStreams) are checked against the resource "*", which only the pattern "*" matches (as an IAM
 * statement scoped to `stream/camera-*` does not grant ListStreams). Nothing is allowed unless a rule allows it.
 * Secrets are kept out of error messages and of anything that could be logged.
 */
import { readFileSync } from 'node:fs';

export const ACTION_PREFIX = 'kinesisvideo:';

export interface AllowRule {
  actions: string[];
  /** Stream-name globs; absent means ["*"]. */
  streams?: string[];
}

export interface PrincipalConfig {
  name: string;
  accessKeyId: string;
  secretAccessKey: string;
  allow: AllowRule[];
}

export interface AuthConfig {
  principals: PrincipalConfig[];
}

/** A principal as the server holds it. The secret is not enumerable, so that it never shows in a JSON dump. */
export class Principal {
  readonly name: string;
  readonly accessKeyId: string;
  declare readonly secretAccessKey: string;
  private readonly rules: { actions: RegExp[]; streams: RegExp[]; anyStream: boolean }[];

  constructor(config: PrincipalConfig) {
    this.name = config.name;
    this.accessKeyId = config.accessKeyId;
    Object.defineProperty(this, 'secretAccessKey', { value: config.secretAccessKey, enumerable: false });
    this.rules = config.allow.map((rule) => {
      const streams = rule.streams ?? ['*'];
      return {
        actions: rule.actions.map((a) => globToRegExp(a, true)),
        streams: streams.map((s) => globToRegExp(s, false)),
        anyStream: streams.includes('*'),
      };
    });
  }

  /**
   * May this principal perform `operation` on every one of `streams` (stream names)? With no stream
   * (ListStreams), a rule must grant the action on "*".
   */
  allows(operation: string, streams: readonly string[]): boolean {
    const action = `${ACTION_PREFIX}${operation}`;
    const granting = this.rules.filter((r) => r.actions.some((re) => re.test(action)));
    if (streams.length === 0) return granting.some((r) => r.anyStream);
    return streams.every((name) => granting.some((r) => r.streams.some((re) => re.test(name))));
  }

  toJSON() {
    return { name: this.name, accessKeyId: this.accessKeyId };
  }
}

/** `*` = any run of characters, `?` = one character; everything else literal. */
export function globToRegExp(glob: string, caseInsensitive: boolean): RegExp {
  const body = glob
    .split('')
    .map((ch) => {
      if (ch === '*') return '.*';
      if (ch === '?') return '.';
      return ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${body}$`, caseInsensitive ? 'is' : 's');
}

export class AuthConfigError extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Checks the shape of an auth configuration; messages name the principal and field, never a secret. */
export function parseAuthConfig(value: unknown, source = 'auth configuration'): AuthConfig {
  const fail = (msg: string): never => {
    throw new AuthConfigError(`${source}: ${msg}`);
  };
  if (!isObject(value)) fail('must be a JSON object with a "principals" array');
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) if (key !== 'principals' && key !== '$comment') fail(`unknown key "${key}"`);
  if (!Array.isArray(v.principals)) fail('"principals" must be an array');
  const principals = v.principals as unknown[];
  const keys = new Set<string>();
  const names = new Set<string>();
  const out: PrincipalConfig[] = principals.map((p, i) => {
    const where = `principals[${i}]`;
    if (!isObject(p)) fail(`${where} must be an object`);
    const q = p as Record<string, unknown>;
    for (const key of Object.keys(q)) {
      if (!['name', 'accessKeyId', 'secretAccessKey', 'allow', '$comment'].includes(key))
        fail(`${where}: unknown key "${key}"`);
    }
    if (!nonEmptyString(q.name)) fail(`${where}: "name" must be a non-empty string`);
    const who = `principal "${q.name as string}"`;
    if (!nonEmptyString(q.accessKeyId) || !/^[A-Za-z0-9_+=,.@-]{1,128}$/.test(q.accessKeyId)) {
      fail(`${who}: "accessKeyId" must be 1..128 characters of [A-Za-z0-9_+=,.@-]`);
    }
    if (!nonEmptyString(q.secretAccessKey)) fail(`${who}: "secretAccessKey" must be a non-empty string`);
    if (names.has(q.name as string)) fail(`${who} is defined twice`);
    if (keys.has(q.accessKeyId as string))
      fail(`${who}: accessKeyId ${q.accessKeyId as string} is used by another principal`);
    names.add(q.name as string);
    keys.add(q.accessKeyId as string);
    const allow = q.allow ?? [];
    if (!Array.isArray(allow)) fail(`${who}: "allow" must be an array of rules`);
    const rules = (allow as unknown[]).map((r, j): AllowRule => {
      const at = `${who}: allow[${j}]`;
      if (!isObject(r)) fail(`${at} must be an object`);
      const rule = r as Record<string, unknown>;
      for (const key of Object.keys(rule))
        if (!['actions', 'streams', '$comment'].includes(key)) fail(`${at}: unknown key "${key}"`);
      if (!Array.isArray(rule.actions) || rule.actions.length === 0 || !rule.actions.every(nonEmptyString)) {
        fail(
          `${at}: "actions" must be a non-empty array of strings such as "kinesisvideo:ListFragments" or "kinesisvideo:*"`,
        );
      }
      for (const a of rule.actions as string[]) {
        if (!a.toLowerCase().startsWith(ACTION_PREFIX) && a !== '*')
          fail(`${at}: action "${a}" must start with "${ACTION_PREFIX}"`);
      }
      if (
        rule.streams !== undefined &&
        (!Array.isArray(rule.streams) || rule.streams.length === 0 || !rule.streams.every(nonEmptyString))
      ) {
        fail(`${at}: "streams" must be a non-empty array of stream-name globs such as "camera-*" or "*"`);
      }
      return {
        actions: rule.actions as string[],
        ...(rule.streams !== undefined && { streams: rule.streams as string[] }),
      };
    });
    return {
      name: q.name as string,
      accessKeyId: q.accessKeyId as string,
      secretAccessKey: q.secretAccessKey as string,
      allow: rules,
    };
  });
  if (out.length === 0) fail('"principals" is empty: nobody could call kvsd');
  return { principals: out };
}

export function loadAuthFile(file: string): AuthConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AuthConfigError(
      `cannot read the auth file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    // V8's JSON.parse messages may quote the text (secrets included): report only where it broke.
    const at = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new AuthConfigError(
      `the auth file ${file} is not valid JSON${at !== undefined ? ` (near character ${at})` : ''}`,
    );
  }
  return parseAuthConfig(json, `auth file ${file}`);
}

/** Principals by access key id. */
export class PrincipalDirectory {
  private readonly byKey = new Map<string, Principal>();
  constructor(config: AuthConfig) {
    for (const p of config.principals) this.byKey.set(p.accessKeyId, new Principal(p));
  }
  get(accessKeyId: string): Principal | undefined {
    return this.byKey.get(accessKeyId);
  }
  get size() {
    return this.byKey.size;
  }
}
