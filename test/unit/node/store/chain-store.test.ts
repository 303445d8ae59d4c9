import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeGenesis, MemoryChainStore, rebuildState, stateRoot, toHex } from '../../../../chain/index.js';
import { SqliteChainStore } from '../../../../node/store/index.js';
import { certAt, chainStoreContract, storeChain } from '../../chain/store/chain-store-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-chain-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

chainStoreContract('memory', () => new MemoryChainStore());
chainStoreContract('SQLite file', () => new SqliteChainStore({ path: join(dir, `contract-${n++}.db`) }));

describe('SqliteChainStore across restarts', () => {
  it('resumes from disk: blocks, certificates, indexes and the rebuilt state root', () => {
    const path = join(dir, 'restart.db');
    const a = new SqliteChainStore({ path });
    a.setGenesis(storeChain.genesisSpec);
    for (let h = 1; h <= 10; h++) a.putBlock(storeChain.blocks[h]!);
    a.putCertificate(certAt(storeChain, 8));
    const before = toHex(stateRoot(rebuildState(a)));
    a.close();

    const b = new SqliteChainStore({ path });
    expect(b.headHeight()).toBe(10);
    expect(b.lastFinal()).toBe(8);
    expect(encodeGenesis(b.genesis()!)).toEqual(encodeGenesis(storeChain.genesisSpec));
    expect(b.certificate(8)).toEqual(certAt(storeChain, 8));
    const tx = storeChain.blocks[7]!.txs[0]!;
    expect(b.txLocation(tx.id)).toEqual({ height: 7, index: 0 });
    const after = toHex(stateRoot(rebuildState(b)));
    expect(after).toBe(before);
    expect(after).toBe(toHex(stateRoot(storeChain.states[8]!)));
    // It goes on where it stopped.
    b.putCertificate(certAt(storeChain, 10));
    b.close();
    const c = new SqliteChainStore({ path });
    expect(c.lastFinal()).toBe(10);
    expect(toHex(stateRoot(rebuildState(c)))).toBe(toHex(stateRoot(storeChain.states[10]!)));
    c.close();
  });

  it('refuses a file of something else, and a stored block edited behind its back', () => {
    const other = join(dir, 'other.db');
    writeFileSync(other, 'not a database at all, just text'.repeat(100));
    expect(() => new SqliteChainStore({ path: other })).toThrow(
      expect.objectContaining({ code: 'NOT_A_DATABASE' }),
    );
    const path = join(dir, 'edited.db');
    const a = new SqliteChainStore({ path });
    a.setGenesis(storeChain.genesisSpec);
    for (let h = 1; h <= 3; h++) a.putBlock(storeChain.blocks[h]!);
    a.close();
    const edit = new Database(path);
    edit.prepare('UPDATE blocks SET bytes = ? WHERE height = 2').run(Buffer.from([0x82, 0x01]));
    edit.close();
    const b = new SqliteChainStore({ path });
    expect(() => b.block(2)).toThrow(expect.objectContaining({ code: 'CORRUPT', height: 2 }));
    expect(() => rebuildState(b, { height: 3 })).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
    b.close();
  });
});
