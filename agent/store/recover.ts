/**
 * What the agent does with a store file it cannot use: a file that is not a database or fails its
 * integrity check is renamed aside (with its -wal and -shm) and a fresh store is created, with an
 * error logged loudly, so the device keeps collecting instead of crash-looping under systemd. The
 * old file stays for an operator to inspect or salvage. A store written by a newer agent is not
 * moved: that is an upgrade problem, and the error is thrown.
 */
import { existsSync, renameSync } from 'node:fs';
import type { Logger } from '../../process/index.js';
import { openSqliteChunkStore, type SqliteChunkStore, type SqliteChunkStoreOptions } from './sqlite-store.js';
import { StoreError } from './types.js';

/** Opens the store; on NOT_A_DATABASE or CORRUPT moves the file aside and starts a new one. */
export function openChunkStoreOrMoveAside(
  options: SqliteChunkStoreOptions & { readonly logger: Logger; readonly nowMs?: () => number },
): { store: SqliteChunkStore; movedTo?: string } {
  try {
    return { store: openSqliteChunkStore(options) };
  } catch (err) {
    if (!(err instanceof StoreError) || (err.code !== 'NOT_A_DATABASE' && err.code !== 'CORRUPT')) throw err;
    const stamp = new Date((options.nowMs ?? Date.now)()).toISOString().replace(/[:.]/g, '-');
    const movedTo = `${options.path}.${err.code === 'CORRUPT' ? 'corrupt' : 'invalid'}-${stamp}`;
    for (const suffix of ['', '-wal', '-shm'])
      if (existsSync(options.path + suffix)) renameSync(options.path + suffix, movedTo + suffix);
    options.logger.error(
      { path: options.path, movedTo, code: err.code, detail: err.detail ?? err.message },
      'STORE UNUSABLE: moved the database aside and started an empty one; data in the old file was not synced',
    );
    return { store: openSqliteChunkStore(options), movedTo };
  }
}
