/**
 * System tests need programs from Debian packages (socat, mosquitto, can-utils, qemu, gpsd). When
 * one is missing the suite skips with one line naming the package; with
 * QOOD_SYSTEM_TESTS=required (as CI runs) it fails instead, so a CI machine without the package
 * cannot pass by skipping.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { describe, it } from 'vitest';

/** A program a test runs and the Debian package that provides it. */
export interface SystemNeed {
  readonly bin: string;
  readonly pkg: string;
}

/** True when QOOD_SYSTEM_TESTS=required: missing packages fail instead of skipping. */
export const systemTestsRequired = process.env.QOOD_SYSTEM_TESTS === 'required';

/** Full path of `bin` on PATH (plus the sbin folders root has), or undefined. */
export function findProgram(bin: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const p = join(dir, bin);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {}
  }
  return undefined;
}

/** The needs that are not met. */
export function missing(needs: readonly SystemNeed[]): SystemNeed[] {
  return needs.filter((n) => findProgram(n.bin) === undefined);
}

/**
 * `describe` that runs `body` when every program in `needs` is present; otherwise skips with one
 * line naming the packages, or fails when system tests are required.
 */
export function describeSystem(name: string, needs: readonly SystemNeed[], body: () => void): void {
  const lacking = missing(needs);
  if (lacking.length === 0) {
    describe(name, body);
    return;
  }
  const pkgs = [...new Set(lacking.map((n) => n.pkg))];
  const line = `${name}: needs ${lacking.map((n) => n.bin).join(', ')} (apt-get install ${pkgs.join(' ')})`;
  if (systemTestsRequired) {
    describe(name, () => {
      it('has the system packages it needs', () => {
        throw new Error(`QOOD_SYSTEM_TESTS=required but ${line}`);
      });
    });
  } else {
    process.stderr.write(`[skip] ${line}\n`);
    describe.skip(`${name} [skipped: ${line}]`, body);
  }
}

/** The project root: the nearest folder above this file with a package.json (works from dist/ too). */
export function projectRoot(): string {
  let dir = import.meta.dirname;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new Error(`no package.json above ${import.meta.dirname}`);
}

/** Folder of the shared real-world data (`../shared/data` from the project root), or undefined. */
export function sharedDataDir(): string | undefined {
  const dir = process.env.QOOD_SHARED_DATA ?? join(projectRoot(), '..', 'shared', 'data');
  try {
    accessSync(dir, constants.R_OK);
    return dir;
  } catch {
    return undefined;
  }
}

/**
 * `describe` over files in ../shared/data: skips with one line when the folder is absent (a clone
 * without it), fails under QOOD_SYSTEM_TESTS=required, where CI always has it.
 */
export function describeSharedData(name: string, body: (dataDir: string) => void): void {
  const dir = sharedDataDir();
  if (dir !== undefined) {
    describe(name, () => body(dir));
    return;
  }
  const line = `${name}: needs ../shared/data beside the project (or QOOD_SHARED_DATA)`;
  if (systemTestsRequired) {
    describe(name, () => {
      it('has the shared data it needs', () => {
        throw new Error(`QOOD_SYSTEM_TESTS=required but ${line}`);
      });
    });
  } else {
    process.stderr.write(`[skip] ${line}\n`);
    describe.skip(`${name} [skipped: ${line}]`, () => body(''));
  }
}
