/**
 * System tests need programs from Debian packages (socat, mosquitto, can-utils, qemu, gpsd). When
 * one is missing the suite skips with one line naming the package; with
 * QOOD_SYSTEM_TESTS=required (as CI runs) it fails instead, so a CI machine without the package
 * cannot pass by skipping.
 *
 * Real-world data comes two ways: the permissively licensed files are copied into test/fixtures
 * (`fixturePath`), so a bare clone runs the tests that use them; GPL and LGPL files stay in the
 * shared data folder beside the project, and the tests that need them skip with one line naming the
 * missing files when it is absent (`describeSharedData`).
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

/** Folder of the real-world data the repository carries (see test/fixtures/SOURCES.md). */
export function fixturesDir(): string {
  return join(projectRoot(), 'test', 'fixtures');
}

/**
 * Path of a real-world data file the repository carries, by its path in the shared data layout
 * (`nmea/drives/x.txt` is `test/fixtures/nmea/drives/x.txt`). These are the MIT, BSD, Apache and MPL
 * files of ../shared/data, so tests that use them run on a bare clone. A missing one throws: it is
 * part of the checkout, so its absence is a mistake to see, not a reason to skip.
 */
export function fixturePath(rel: string): string {
  const p = join(fixturesDir(), rel);
  if (!existsSync(p))
    throw new Error(`test/fixtures/${rel} is missing from the checkout (see test/fixtures/SOURCES.md)`);
  return p;
}

/** Where the shared data is looked for: QOOD_SHARED_DATA, else `../shared/data` from the project root. */
function sharedDataLocation(): { dir: string; named: boolean } {
  const env = process.env.QOOD_SHARED_DATA;
  if (env !== undefined && env !== '') return { dir: env, named: true };
  return { dir: join(projectRoot(), '..', 'shared', 'data'), named: false };
}

/** Folder of the shared real-world data (QOOD_SHARED_DATA, else `../shared/data`), or undefined. */
export function sharedDataDir(): string | undefined {
  const { dir } = sharedDataLocation();
  try {
    accessSync(dir, constants.R_OK);
    return dir;
  } catch {
    return undefined;
  }
}

/** Name of the placeholder test a shared-data suite shows when its files are missing. */
export const SHARED_DATA_PLACEHOLDER = 'has the shared data it needs';

/**
 * `describe` over files that stay outside the repository (GPL and LGPL data, read from the shared data
 * folder, never copied): runs `body` with the folder when every file in `needs` (paths relative to
 * it) is there. Otherwise it never calls `body` and shows one line naming what is missing: a skip, or
 * a failure under QOOD_SYSTEM_TESTS=required when the run has shared data (QOOD_SHARED_DATA is set or
 * ../shared/data exists), since a partial folder there is a fault. A run with no shared data at all
 * skips even then: CI's checkout may have no ../shared beside it, and its GPL files cannot come
 * from anywhere else.
 */
export function describeSharedData(
  name: string,
  needs: readonly string[],
  body: (dataDir: string) => void,
): void {
  const { dir, named } = sharedDataLocation();
  const present = existsSync(dir);
  const lacking = needs.filter((f) => !existsSync(join(dir, f)));
  if (present && lacking.length === 0) {
    describe(name, () => body(dir));
    return;
  }
  const shown = `${lacking[0] ?? 'its files'}${lacking.length > 1 ? ` and ${lacking.length - 1} more` : ''}`;
  const where = named
    ? `QOOD_SHARED_DATA=${dir}`
    : `../shared/data${present ? '' : ' (absent; or set QOOD_SHARED_DATA)'}`;
  const line = `${name}: needs ${shown} from ${where}`;
  if (systemTestsRequired && (present || named)) {
    describe(name, () => {
      it(SHARED_DATA_PLACEHOLDER, () => {
        throw new Error(`QOOD_SYSTEM_TESTS=required but ${line}`);
      });
    });
    return;
  }
  process.stderr.write(`[skip] ${line}\n`);
  describe.skip(`${name} [skipped: ${line}]`, () => {
    it(SHARED_DATA_PLACEHOLDER, () => {});
  });
}
