/**
 * The one place tests choose their storage backends. Two environment variables name them:
 *
 *   KVSD_TEST_CATALOG   sqlite (default)   a fresh SQLite file per open
 *   KVSD_TEST_MEDIA     file (default)     a fresh media directory per open
 *
 * Unset or empty means the default; any other value is an error when this module loads, so a typo never
 * runs the suites against the default backend while looking as if it ran them against another one. Each
 * backend is built from a storage URL by src/storage/open.ts, the factory kvsd serve uses, so adding a
 * backend there and a line here runs the conformance suites against it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Catalog } from '../../src/storage/catalog.js';
import type { MediaStore } from '../../src/storage/mediaStore.js';
import { openCatalog, openMediaStore, planStorage } from '../../src/storage/open.js';

/** Storage URLs of a fresh backend inside `dir`, by backend name. */
const CATALOG_URLS = {
  // readers=0: the listing reads on the main connection; the reader threads have their own run in
  // sqliteCatalog.test.ts (they need the built dist/ script).
  sqlite: (dir: string) => `sqlite:${join(dir, 'catalog.sqlite')}?readers=0`,
} as const;
const MEDIA_URLS = {
  file: (dir: string) => `file:${join(dir, 'media')}`,
} as const;

/** The backend `value` names among `known`; `fallback` when unset or empty; an Error for anything else. */
export function chooseBackend<K extends string>(
  variable: string,
  value: string | undefined,
  known: readonly K[],
  fallback: K,
): K {
  if (value === undefined || value === '') return fallback;
  if ((known as readonly string[]).includes(value)) return value as K;
  throw new Error(`${variable}=${value} names no test backend; known: ${known.join(', ')}`);
}

export const testCatalogBackend = chooseBackend(
  'KVSD_TEST_CATALOG',
  process.env.KVSD_TEST_CATALOG,
  Object.keys(CATALOG_URLS) as (keyof typeof CATALOG_URLS)[],
  'sqlite',
);
export const testMediaBackend = chooseBackend(
  'KVSD_TEST_MEDIA',
  process.env.KVSD_TEST_MEDIA,
  Object.keys(MEDIA_URLS) as (keyof typeof MEDIA_URLS)[],
  'file',
);

/** The URLs of fresh backends in a new temp directory; planStorage checks them as kvsd serve would. */
async function freshPlan(kind: string) {
  const dir = await mkdtemp(join(tmpdir(), `kvsd-test-${kind}-`));
  const plan = planStorage({
    dataDir: dir,
    catalog: CATALOG_URLS[testCatalogBackend](dir),
    media: MEDIA_URLS[testMediaBackend](dir),
  });
  return { dir, plan, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface TestCatalog {
  catalog: Catalog;
  /** Removes what the catalog stored; call it after closing the catalog. */
  cleanup: () => Promise<void>;
}

/** A fresh, empty catalog of the selected backend. */
export async function openTestCatalog(): Promise<TestCatalog> {
  const { plan, cleanup } = await freshPlan('catalog');
  return { catalog: openCatalog(plan.catalog), cleanup };
}

export interface TestMedia {
  store: MediaStore;
  /** A new store object on the same place, as a restarted process opens it. */
  reopen: () => Promise<MediaStore>;
  /** Removes what the store stored; call it after closing every store on the place. */
  cleanup: () => Promise<void>;
}

/** A fresh, empty media store of the selected backend (the shape mediaStoreConformance takes). */
export async function openTestMedia(): Promise<TestMedia> {
  const { plan, cleanup } = await freshPlan('media');
  return { store: openMediaStore(plan.media), reopen: async () => openMediaStore(plan.media), cleanup };
}
