/**
 * The MediaStore conformance suite, on the backend KVSD_TEST_MEDIA selects (test/storage/backends.ts) and
 * on LocalMediaStore itself when another is selected, so that the local store is checked whatever the selection.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalMediaStore } from '../../src/storage/localMediaStore.js';
import { openTestMedia, testMediaBackend } from './backends.js';
import { mediaStoreConformance } from './mediaStore.conformance.js';

mediaStoreConformance(`the selected media backend (KVSD_TEST_MEDIA=${testMediaBackend})`, openTestMedia);

// When the selection is another backend, LocalMediaStore (the default) is still checked here.
if (testMediaBackend !== 'file')
  mediaStoreConformance('LocalMediaStore', async () => {
    const root = await mkdtemp(join(tmpdir(), 'kvsd-media-'));
    return {
      store: new LocalMediaStore(root),
      reopen: async () => new LocalMediaStore(root),
      cleanup: () => rm(root, { recursive: true, force: true }),
    };
  });
