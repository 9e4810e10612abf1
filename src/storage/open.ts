/**
 * Storage chosen by configuration: a catalog URL and a media URL name the backends, and this module builds
 * them. The archive receives them ready-made and knows only the Catalog and MediaStore interfaces.
 *
 *   --catalog sqlite:PATH[?readers=N]   (default sqlite:<data-dir>/catalog.sqlite)
 *   --media   file:PATH                 (default file:<data-dir>/media)
 *
 * PATH is taken literally (no percent-decoding; only '?' starts the query), absolute or relative to the
 * current directory; `sqlite:///abs` and `file:///abs` are read as /abs. Query parameters are the backend's
 * own tuning, checked here: an unknown one is an error, not silently ignored.
 *
 * The data directory is locked for this process whatever the URLs say (src/storage/dataDirLock.ts). With
 * the default URLs the lock guards the catalog and the media, which live in it: no second process sweeps
 * retention or seals "abandoned" segments under a live writer. When both URLs point elsewhere, the lock
 * guards only the data directory itself: it says nothing about who else uses that catalog or media. Two
 * processes given the same SQLite file through different data directories are then not kept apart, and a
 * shared networked catalog (one day) must decide segment ownership in the catalog, not by this lock.
 */
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Catalog } from './catalog.js';
import { DataDirLock } from './dataDirLock.js';
import { makeDurableDir } from './dirs.js';
import { LocalMediaStore } from './localMediaStore.js';
import type { MediaStore } from './mediaStore.js';
import { SqliteCatalog } from './sqliteCatalog.js';

export interface StorageConfig {
  dataDir: string;
  /** Catalog URL (default sqlite:<dataDir>/catalog.sqlite). */
  catalog?: string;
  /** Media URL (default file:<dataDir>/media). */
  media?: string;
  /** Shortcut for the SQLite catalog's `readers` parameter (--catalog-readers). */
  catalogReaders?: number;
  log?: (event: Record<string, unknown>) => void;
}

/** The catalog and media store of one process, and the data-directory lock they were opened under. */
export interface Storage {
  readonly catalog: Catalog;
  readonly media: MediaStore;
  /** Closes the media store, then the catalog, then releases the lock. */
  close(): Promise<void>;
}

/** A storage URL that names no backend of this kvsd, or a backend's parameter it does not take. */
export class StorageUrlError extends Error {}

export type CatalogPlan = { kind: 'sqlite'; file: string; readers: number };
export type MediaPlan = { kind: 'file'; root: string };
export interface StoragePlan {
  dataDir: string;
  catalog: CatalogPlan;
  media: MediaPlan;
}

/** Backends that other kvsd issues will add: named so that the error says "not yet", not "what is that". */
const LATER = { catalog: ['postgres', 'postgresql'], media: ['s3'] } as const;
const MAX_READERS = 64;

export const defaultCatalogUrl = (dataDir: string) => `sqlite:${join(dataDir, 'catalog.sqlite')}`;
export const defaultMediaUrl = (dataDir: string) => `file:${join(dataDir, 'media')}`;

interface ParsedUrl {
  scheme: string;
  path: string;
  params: URLSearchParams;
}

function parseUrl(what: 'catalog' | 'media', url: string): ParsedUrl {
  const m = /^([a-z][a-z0-9+.-]*):(.*)$/i.exec(url);
  if (!m)
    throw new StorageUrlError(
      `--${what} must be a URL such as ${what === 'catalog' ? 'sqlite:PATH' : 'file:PATH'}, got '${url}'`,
    );
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  const q = rest.indexOf('?');
  const path = (q < 0 ? rest : rest.slice(0, q)).replace(/^\/\/(?=\/)/, '');
  return { scheme, path, params: new URLSearchParams(q < 0 ? '' : rest.slice(q + 1)) };
}

function unknownScheme(what: 'catalog' | 'media', scheme: string, available: string): StorageUrlError {
  const later = (LATER[what] as readonly string[]).includes(scheme);
  return new StorageUrlError(
    later
      ? `--${what} ${scheme}: is not available yet: this kvsd stores its ${what} with ${available} only`
      : `--${what} has an unknown scheme '${scheme}:'; this kvsd knows ${available}`,
  );
}

function onlyParams(what: 'catalog' | 'media', u: ParsedUrl, allowed: string[]) {
  for (const key of new Set(u.params.keys())) {
    if (!allowed.includes(key)) {
      const known = allowed.length > 0 ? `; it takes ${allowed.join(', ')}` : '; it takes none';
      throw new StorageUrlError(`--${what} ${u.scheme}: has no parameter '${key}'${known}`);
    }
  }
  if (u.path === '') throw new StorageUrlError(`--${what} ${u.scheme}: needs a path`);
}

function readersOf(text: string | null, shortcut: number | undefined): number {
  if (text !== null && shortcut !== undefined) {
    throw new StorageUrlError(
      'give the SQLite reader threads once: --catalog-readers or ?readers= in --catalog, not both',
    );
  }
  if (text === null) return shortcut ?? Math.min(4, availableParallelism() - 1);
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n <= MAX_READERS))
    throw new StorageUrlError(`--catalog sqlite: readers must be an integer 0..${MAX_READERS}, got '${text}'`);
  return n;
}

/** What the URLs ask for, checked without touching the disk (so that serve reports it before listening). */
export function planStorage(config: StorageConfig): StoragePlan {
  const c = parseUrl('catalog', config.catalog ?? defaultCatalogUrl(config.dataDir));
  if (c.scheme !== 'sqlite') throw unknownScheme('catalog', c.scheme, 'sqlite:');
  onlyParams('catalog', c, ['readers']);
  const catalog: CatalogPlan = {
    kind: 'sqlite',
    file: resolve(c.path),
    readers: readersOf(c.params.get('readers'), config.catalogReaders),
  };

  const m = parseUrl('media', config.media ?? defaultMediaUrl(config.dataDir));
  if (m.scheme !== 'file') throw unknownScheme('media', m.scheme, 'file:');
  onlyParams('media', m, []);
  return { dataDir: config.dataDir, catalog, media: { kind: 'file', root: resolve(m.path) } };
}

/** Opens the catalog (running its migrations) and the media store; no lock (tests, tools). */
export function openCatalog(plan: CatalogPlan, log?: StorageConfig['log']): Catalog {
  makeDurableDir(dirname(plan.file));
  return new SqliteCatalog(plan.file, { readers: plan.readers, ...(log && { log }) });
}

export function openMediaStore(plan: MediaPlan): MediaStore {
  return new LocalMediaStore(plan.root);
}

/**
 * Locks the data directory for this process (DataDirLockedError if another process has it), then opens the
 * catalog and the media store. The lock comes first: opening a catalog may migrate it.
 */
export async function openStorage(config: StorageConfig): Promise<Storage> {
  const plan = planStorage(config);
  makeDurableDir(plan.dataDir);
  const lock = DataDirLock.acquire(plan.dataDir);
  let catalog: Catalog | undefined;
  try {
    catalog = openCatalog(plan.catalog, config.log);
    const media = openMediaStore(plan.media);
    const opened = catalog;
    return {
      catalog: opened,
      media,
      async close() {
        try {
          await media.close();
          await opened.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (err) {
    await catalog?.close().catch(() => undefined);
    lock.release();
    throw err;
  }
}
