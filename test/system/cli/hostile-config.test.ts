/**
 * `qood config check` and `qood agent` on config files written to exhaust the reader: an alias bomb
 * and 100,000 nested brackets end with exit 2 (a config a service manager must not retry) and one
 * line naming file:line, what was found and what was expected; never exit 1 with a stack trace.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runQood } from '../../support/cli.js';
import { ALIAS_BOMB } from '../../support/fuzz.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-hostile-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('hostile config files on the command line', () => {
  for (const [name, text, what] of [
    ['bomb.yaml', ALIAS_BOMB, '(aliases)'],
    ['deep.yaml', `device: ${'['.repeat(100_000)}\n`, '(nesting)'],
  ] as const) {
    it(`${name}: qood config check and qood agent exit 2 with one line naming the problem`, () => {
      const file = join(dir, name);
      writeFileSync(file, text);
      for (const args of [
        ['config', 'check', file],
        ['agent', '-c', file],
      ]) {
        const r = runQood(args, { timeoutMs: 20_000 });
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect(r.stderr.trim().split('\n')).toEqual([
          `${file}: 1 problem:`,
          expect.stringMatching(
            new RegExp(`^  ${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: \\${what.slice(0, -1)}\\): found`),
          ),
        ]);
        expect(r.status).toBe(2);
      }
    });
  }
});
