/**
 * The store under SIGKILL: a child process writes chunks as fast as it can and is killed at 22
 * random instants. After each kill the file must open (quick_check ok), hold every chunk whose
 * commit had returned, byte for byte, and at most one more (a commit that returned but whose
 * line was not printed yet). What a kill loses is at most the put in progress, which never
 * returned. Runs the compiled writer (npm test builds first).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteChunkStore } from '../../../agent/store/index.js';
import { makeRecord } from '../../support/chunks.js';
import { runThenKill, xorshiftRng } from '../../support/kill.js';
import { writerChunkSize } from '../../support/store-writer.js';

const WRITER = join(import.meta.dirname, '..', '..', '..', 'dist', 'test', 'support', 'store-writer.js');
const KILLS = 22;
const dir = mkdtempSync(join(tmpdir(), 'qood-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the writer until it has committed a random while, then SIGKILLs it; returns its lines. */
async function runAndKill(db: string, rng: () => number): Promise<{ first: number; committed: number[] }> {
  const lines = await runThenKill(WRITER, [db], 'ready ', 20 + Math.floor(rng() * 300));
  const first = Number(lines[0]!.slice('ready '.length));
  const committed = lines
    .slice(1)
    .filter((l) => /^\d+$/.test(l))
    .map(Number);
  return { first, committed };
}

describe('the store killed with SIGKILL while writing', () => {
  it(`opens, passes quick_check and keeps every committed chunk after each of ${KILLS} kills`, async () => {
    expect(existsSync(WRITER), `${WRITER} is missing: run npm run build first`).toBe(true);
    const db = join(dir, 'agent.db');
    const rng = xorshiftRng();
    let expected = 0; // chunks known committed so far
    let lostInProgress = 0;
    let committedUnreported = 0;
    for (let k = 0; k < KILLS; k++) {
      const { first, committed } = await runAndKill(db, rng);
      // The writer resumes exactly after what is in the file.
      expect(first).toBeGreaterThanOrEqual(expected);
      expect(first).toBeLessThanOrEqual(expected + 1);
      expected = first + committed.length;
      expect(committed).toEqual(committed.map((_, i) => first + i));
      const store = openSqliteChunkStore({ path: db }); // throws if quick_check fails
      try {
        const { chunks } = store.usage();
        expect(chunks === expected || chunks === expected + 1).toBe(true);
        if (chunks === expected + 1) committedUnreported++;
        else lostInProgress++;
        // Every committed chunk, byte for byte (sampled: the last ones of this run and a spread).
        const check = new Set<number>([
          ...committed.slice(-20),
          ...Array.from({ length: 20 }, (_, i) => Math.floor((i * expected) / 20)),
        ]);
        for (const seq of check) {
          if (seq >= expected) continue;
          const want = makeRecord('w', seq, { size: writerChunkSize(seq), priority: seq % 3 });
          const got = store.get(want.id);
          expect(got?.seq, `chunk ${seq} after kill ${k}`).toBe(seq);
          expect(Buffer.compare(Buffer.from(got!.bytes), Buffer.from(want.bytes))).toBe(0);
        }
        // The durable counter agrees with the rows: counters commit with the chunk.
        expect(store.counters()['chunks.stored']).toBe(chunks);
        expected = chunks;
      } finally {
        store.close();
      }
    }
    // Each kill lost at most the put in progress (it never returned), or nothing.
    expect(lostInProgress + committedUnreported).toBe(KILLS);
    expect(expected).toBeGreaterThan(KILLS * 5);
    if (process.env.QOOD_KILL_REPORT)
      process.stderr.write(
        `kills ${KILLS}: ${expected} chunks committed; ${committedUnreported} kills after a commit before its line, ${lostInProgress} with at most the put in progress lost\n`,
      );
  }, 120_000);
});
