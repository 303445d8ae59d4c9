/**
 * The heights a producer has signed at, kept in a small file written and fsynced before a signed
 * block or vote leaves the node. After a crash the engine resumes from it (producedThrough,
 * votedThrough) and never signs a second block or vote at a height it already signed: the stored
 * chain holds final blocks only, so without this file a restarted producer could double-sign a block
 * or a vote it sent just before it died.
 *
 * File: JSON `{"version":1,"producedThrough":N,"votedThrough":M}`, replaced atomically (write a
 * temporary file, fsync, rename, fsync the folder).
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Heights signed so far. */
export interface SignedHeights {
  readonly producedThrough: number;
  readonly votedThrough: number;
}

/** Why the guard file could not be used. */
export class SigningGuardError extends Error {
  constructor(
    readonly code: 'CORRUPT' | 'IO',
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'SigningGuardError';
  }
}

/** Where signed heights are kept. */
export interface SigningGuard {
  load(): SignedHeights;
  save(h: SignedHeights): void;
}

/** A guard that keeps nothing (a node without a producer key, or tests). */
export const noSigningGuard: SigningGuard = {
  load: () => ({ producedThrough: 0, votedThrough: 0 }),
  save: () => {},
};

/** The guard file at `path`. */
export class FileSigningGuard implements SigningGuard {
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
  }

  /** The heights in the file; zeros when it does not exist. Throws SigningGuardError when damaged. */
  load(): SignedHeights {
    let text: string;
    try {
      text = readFileSync(this.#path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { producedThrough: 0, votedThrough: 0 };
      throw new SigningGuardError('IO', this.#path, `cannot read: ${(err as Error).message}`);
    }
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw new SigningGuardError(
        'CORRUPT',
        this.#path,
        'not JSON; the node will not sign until it is fixed',
      );
    }
    const o = v as Record<string, unknown>;
    const ok = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
    if (o.version !== 1 || !ok(o.producedThrough) || !ok(o.votedThrough))
      throw new SigningGuardError(
        'CORRUPT',
        this.#path,
        'expected {"version":1,"producedThrough":N,"votedThrough":N}',
      );
    return { producedThrough: o.producedThrough as number, votedThrough: o.votedThrough as number };
  }

  /** Writes the heights durably. */
  save(h: SignedHeights): void {
    const tmp = `${this.#path}.tmp`;
    try {
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, JSON.stringify({ version: 1, ...h }));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.#path);
      const dir = openSync(dirname(this.#path), 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    } catch (err) {
      throw new SigningGuardError('IO', this.#path, `cannot write: ${(err as Error).message}`);
    }
  }
}
