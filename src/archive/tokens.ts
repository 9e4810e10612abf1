/**
 * Opaque, tamper-proof pagination tokens: base64 of (payload JSON ‖ HMAC-SHA256 tag). The key is a catalog
 * setting, so tokens survive a restart and every process over one catalog seals and opens the same tokens;
 * any change to a token breaks its tag. Standard base64 matches the models' NextToken pattern
 * [a-zA-Z0-9+/]+={0,2}.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Catalog } from '../storage/catalog.js';

const TAG_BYTES = 16;
/** The catalog setting that holds the key, hex. */
export const TOKEN_KEY_SETTING = 'token_key';

export class TokenSealer {
  constructor(private readonly key: Buffer) {}

  /**
   * The catalog's key, created on first start. Created once for all: whoever stores it first wins, and every
   * racing process reads the winner's. A data directory of a kvsd that kept the key in a file
   * (`legacyKeyFile`, <data-dir>/token.key) brings that key along, so tokens issued before still open;
   * the file is left in place (an older kvsd started on the directory reads the same key from it).
   */
  static async fromCatalog(
    catalog: Pick<Catalog, 'getSetting' | 'initSetting'>,
    legacyKeyFile?: string,
    log: (event: Record<string, unknown>) => void = () => {},
  ): Promise<TokenSealer> {
    let hex = await catalog.getSetting(TOKEN_KEY_SETTING);
    if (hex === undefined) {
      const legacy = legacyKeyFile === undefined ? undefined : readKeyFile(legacyKeyFile);
      hex = await catalog.initSetting(TOKEN_KEY_SETTING, legacy ?? randomBytes(32).toString('hex'));
      if (legacy !== undefined && hex === legacy)
        log({ level: 'info', msg: 'moved the token key into the catalog', from: legacyKeyFile });
    }
    const key = Buffer.from(hex, 'hex');
    if (key.length < 32) throw new Error('the token key in the catalog is too short');
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

  /**
   * Like seal, and unreadable too (AES-256-GCM under a key derived for `kind`): for tokens that travel in
   * URLs players and logs see (playback sessions), whose content is nobody's business. base64url.
   */
  encrypt(kind: string, value: unknown): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.subKey(kind), iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /** The value of an `encrypt`ed token, or undefined if it was not made by this key for this kind, or was altered. */
  decrypt<T>(kind: string, token: string): T | undefined {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
    const raw = Buffer.from(token, 'base64url');
    if (raw.length <= 28 || raw.toString('base64url') !== token) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.subKey(kind), raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      return JSON.parse(text) as T;
    } catch {
      return undefined;
    }
  }

  private subKey(kind: string): Buffer {
    return createHmac('sha256', this.key).update('encrypt\0').update(kind).digest();
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

/** The key an older kvsd kept in the data directory, or undefined if there is no such file. */
function readKeyFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
