/**
 * Opening an archive from configuration: the storage its URLs name (src/storage/open.ts), then the archive
 * on it. Composition, like src/server.ts: the archive itself knows only the storage interfaces.
 */
import { join } from 'node:path';
import { Archive, type ArchiveOptions } from './archive/archive.js';
import { openStorage, type StorageConfig } from './storage/open.js';

export type OpenArchiveOptions = Omit<ArchiveOptions, 'legacyTokenKeyFile'> & StorageConfig;

export async function openArchive(opts: OpenArchiveOptions): Promise<Archive> {
  const storage = await openStorage(opts);
  return Archive.open(storage, { ...opts, legacyTokenKeyFile: join(opts.dataDir, 'token.key') });
}
