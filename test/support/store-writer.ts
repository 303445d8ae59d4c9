/**
 * A child process for the crash test (test/system/store/kill-writer.test.ts): opens the store
 * named by argv[2], prints `ready <next seq>`, then stores chunks of stream `w` as fast as it can
 * and prints `<seq>` after each `put` has returned (committed with synchronous FULL), until it is
 * killed. It resumes from the durable `chunks.stored` counter. Output goes straight to fd 1 with
 * writeSync so a printed seq is never one that was not yet committed, nor is one lost in a buffer.
 */
import { writeSync } from 'node:fs';
import { openSqliteChunkStore } from '../../agent/store/index.js';
import { makeRecord } from './chunks.js';

/** Size of the chunk with this seq: 100 B to about 6 KB, so some rows span overflow pages. */
export function writerChunkSize(seq: number): number {
  return 100 + ((seq * 2654435761) % 6000);
}

const path = process.argv[2];
if (path !== undefined && process.argv[1]?.endsWith('store-writer.js')) {
  const store = openSqliteChunkStore({ path, synchronous: 'full' });
  let seq = store.counters()['chunks.stored'];
  writeSync(1, `ready ${seq}\n`);
  for (;;) {
    store.put(makeRecord('w', seq, { size: writerChunkSize(seq), priority: seq % 3 }));
    writeSync(1, `${seq}\n`);
    seq++;
  }
}
