import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { MemoryChunkStore, openSqliteChunkStore } from '../../../../agent/store/index.js';
import { chunkStoreContract } from './chunk-store-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

chunkStoreContract('memory double', (o) => new MemoryChunkStore(o));
chunkStoreContract('SQLite file (synchronous full)', (o) =>
  openSqliteChunkStore({ path: join(dir, `s${n++}.db`), ...o }),
);
