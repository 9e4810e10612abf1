/**
 * The Catalog conformance suite on the backend KVSD_TEST_CATALOG selects (test/storage/backends.ts).
 * What only the SQLite file can show, and the suite through its reader threads, is in sqliteCatalog.test.ts.
 */
import { after } from 'node:test';
import { openTestCatalog, testCatalogBackend } from './backends.js';
import { catalogConformance } from './catalog.conformance.js';

// The suite closes each catalog after its test; what they stored goes once all are closed.
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups) await cleanup();
});

catalogConformance(`the selected catalog backend (KVSD_TEST_CATALOG=${testCatalogBackend})`, async () => {
  const { catalog, cleanup } = await openTestCatalog();
  cleanups.push(cleanup);
  return catalog;
});
