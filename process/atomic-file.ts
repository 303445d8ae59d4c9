/**
 * Durable small-file writes for state a process must find whole after a power cut (a device key,
 * a light client's saved head): the bytes go to a temporary file in the same folder, which is
 * fsynced, then renamed (or linked) into place, and the folder is fsynced so the new name is on
 * disk too. Without both fsyncs, ext4 and f2fs on an SD card can leave a zero-length file under
 * the final name after a power cut (the rename reached the journal before the data blocks).
 */
import { closeSync, fsyncSync, linkSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** File mode of the new file (default 0o600: these files are usually secret or private). */
  readonly mode?: number;
  /**
   * Never replace an existing file: the temporary file is hard-linked to the final name, which
   * fails with EEXIST when another process made it first (default false: rename over it).
   */
  readonly exclusive?: boolean;
}

/**
 * Writes `bytes` to `file` atomically and durably (temp file, fsync, rename, fsync of the folder).
 * Returns false when `exclusive` is set and the file already exists; throws the fs error otherwise.
 */
export function writeFileAtomic(
  file: string,
  bytes: Uint8Array | string,
  options: AtomicWriteOptions = {},
): boolean {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${process.pid}.tmp`);
  // 'w': a temporary file left by a crashed process of the same pid (after a reboot) is reused.
  const fd = openSync(tmp, 'w', options.mode ?? 0o600);
  let placed = false;
  try {
    try {
      const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (options.exclusive === true) {
      try {
        linkSync(tmp, file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw err;
      }
      unlinkSync(tmp);
    } else {
      renameSync(tmp, file);
    }
    placed = true;
  } finally {
    if (!placed) unlinkSync(tmp);
  }
  syncFolder(dir);
  return true;
}

/** Fsyncs a folder, so a rename or a new name in it survives a power cut. */
export function syncFolder(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
