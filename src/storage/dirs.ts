/**
 * Creating directories that must survive a crash. A new directory's entry lives in its parent: until the
 * parent is fsynced, power loss can forget the directory and everything acknowledged inside it.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * mkdir -p, one level at a time, fsyncing each parent that gained an entry. Node's recursive mkdirSync is
 * not used: under /proc it spins forever instead of failing.
 */
export function makeDurableDir(path: string, mode = 0o700): void {
  const missing: string[] = [];
  for (let p = resolve(path); !isDir(p); p = dirname(p)) {
    missing.unshift(p);
    if (dirname(p) === p) break;
  }
  for (const dir of missing) {
    try {
      mkdirSync(dir, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && isDir(dir)) continue; // made by someone else meanwhile
      throw err;
    }
    syncDir(dirname(dir));
  }
}

/** fsync(2) on a directory: makes the entries created in it durable. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** True for a directory, false for nothing there; a file in the way is an error at mkdir. */
function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
