/**
 * Every test that reads the shared data folder (the GPL and LGPL files the repository may not carry)
 * copes with a clone that has none: pointed at an empty folder, each of its suites skips with one line
 * naming what is missing and nothing fails while the files are collected; under
 * QOOD_SYSTEM_TESTS=required the same empty folder fails each of them instead. The users are found by
 * reading test/ for `describeSharedData(`, so a new one is covered without being listed here. Each run
 * is a child vitest over those files selecting only the placeholder tests, which keeps it to the
 * collection of a few files; the rest of each file runs in the ordinary suite.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot, SHARED_DATA_PLACEHOLDER } from '../../support/system.js';

const root = projectRoot();
const empty = mkdtempSync(join(tmpdir(), 'qood-no-shared-data-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

/** Every test file under test/ but this one, by path relative to the root, with its text. */
function testFiles(): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  const visit = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'fixtures') visit(p);
      } else if (e.name.endsWith('.test.ts') && p !== import.meta.filename) {
        out.push({ file: relative(root, p), text: readFileSync(p, 'utf8') });
      }
    }
  };
  visit(join(root, 'test'));
  return out;
}

/** Test files that call describeSharedData, with the suite names they give it. */
function sharedDataUsers(): { file: string; suites: string[] }[] {
  return testFiles()
    .map(({ file, text }) => ({
      file,
      suites: [...text.matchAll(/describeSharedData\(\s*(['"`])(.+?)\1,/g)].map((m) => m[2]!),
    }))
    .filter((u) => u.suites.length > 0);
}

/** Runs vitest over `files`, only the placeholder tests, with `env` on top of a clean environment. */
function runPlaceholders(files: readonly string[], env: Record<string, string>) {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'QOOD_SYSTEM_TESTS'),
  );
  const r = spawnSync(
    process.execPath,
    [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...files, '-t', SHARED_DATA_PLACEHOLDER],
    { cwd: root, env: { ...base, NO_COLOR: '1', ...env }, encoding: 'utf8' },
  );
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

// Each child vitest starts, transforms and collects a handful of files: seconds when the machine is
// idle, much longer when two cores are shared with other test runs. Nothing here waits on time.
const CHILD_RUN = { timeout: 240_000 };

describe('tests that read the shared data folder', () => {
  const users = sharedDataUsers();
  const files = users.map((u) => u.file);
  const suites = users.flatMap((u) => u.suites);

  it('are found: the GPL CAN logs and the LGPL format samples have users', () => {
    expect(files).toContain('test/unit/agent/decode/dbc-real.test.ts');
    expect(files).toContain('test/unit/simulators/can-log.test.ts');
  });

  it('reach the folder only through describeSharedData, which skips when it is absent', () => {
    const direct = testFiles()
      .filter(({ text }) => /sharedDataDir\(|QOOD_SHARED_DATA|['"]shared['"],\s*['"]data['"]/.test(text))
      .map((f) => f.file);
    expect(direct).toEqual([]);
  });

  it('each skip with one line naming what is missing when the folder is empty', CHILD_RUN, () => {
    const r = runPlaceholders(files, { QOOD_SHARED_DATA: empty });
    expect(r.status, r.output).toBe(0);
    for (const s of suites) expect(r.output, s).toContain(`[skip] ${s}: needs `);
    expect(r.output).not.toMatch(/ENOENT|FAIL/);
  });

  it('each fail instead under QOOD_SYSTEM_TESTS=required, naming what is missing', CHILD_RUN, () => {
    const r = runPlaceholders(files, { QOOD_SHARED_DATA: empty, QOOD_SYSTEM_TESTS: 'required' });
    expect(r.status, r.output).toBe(1);
    for (const s of suites) expect(r.output, s).toContain(`QOOD_SYSTEM_TESTS=required but ${s}: needs `);
    expect(r.output).not.toMatch(/ENOENT|\[skip\]/);
  });
});
