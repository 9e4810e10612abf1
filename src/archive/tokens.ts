/**
 * Opaque, tamper-proof pagination tokens: base64 of (payload JSON ‖ HMAC-SHA256 tag). The key lives in
 * the data directory, so tokens survive a restart; any change to a token breaks its tag. Standard base64
 * matches the models' NextToken pattern [a-zA-Z0-9+/]+={0,2}.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';

const TAG_BYTES = 16;

export class TokenSealer {
  constructor(private readonly key: Buffer) {}

  /** Loads the key from `file`, creating it (mode 0600) on first start. */
  static fromKeyFile(file: string): TokenSealer {
    if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
    if (key.length < 32) throw new Error(`token key in ${file} is too short`);
    return new TokenSealer(key);
  }

  private tag(kind: string, payload: Buffer) {
    return createHmac('sha256', this.key).update(kind).update('\0').update(payload).digest().subarray(0, TAG_BYTES);
  }

  /** `kind` separates token families: a ListStreams token never opens as a ListFragments one. */
  seal(kind: string, value: unknown): string {
    const payload = Buffer.from(JSON.stringify(value));
    return Buffer.concat([payload, this.tag(kind, payload)]).toString('base64');
  }

  /** The sealed value, or undefined if the token was not made by this key for this kind, or was altered. */
  open<T>(kind: string, token: string): T | undefined {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token)) return undefined;
    const raw = Buffer.from(token, 'base64');
    // Buffer.from ignores trailing garbage in base64; insist on the canonical form.
    if (raw.toString('base64') !== token || raw.length <= TAG_BYTES) return undefined;
    const payload = raw.subarray(0, raw.length - TAG_BYTES);
    const tag = raw.subarray(raw.length - TAG_BYTES);
    if (!timingSafeEqual(tag, this.tag(kind, payload))) return undefined;
    try {
      return JSON.parse(payload.toString('utf8')) as T;
    } catch {
      return undefined;
    }
  }
}
