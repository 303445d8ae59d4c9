/**
 * The agent under SIGKILL: the real agent (decode, collect, chunk, seal, SQLite store) runs on a
 * paired data folder, fed by the simulated car 50x faster than real time, and is killed at 50
 * random instants. After every kill the store opens (quick_check ok) and holds every chunk whose
 * commit the agent had reported; after all of them, every stream is whole: sequence numbers
 * 0..n with no gap, and each header links to its predecessor's id across every restart. What a
 * kill loses is the samples in open chunks (stated in the README), never a committed chunk.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { loadOrCreateDeviceKey } from '../../../agent/seal/index.js';
import { openSqliteChunkStore, type SealedChunkRecord } from '../../../agent/store/index.js';
import {
  bytesEqual,
  createBinding,
  decodeSealedChunk,
  fromHex,
  ownerIdentity,
  seedFromMnemonic,
  vehicleDataRoot,
} from '../../../chain/index.js';
import { runThenKill, xorshiftRng } from '../../support/kill.js';
import { describeSystem } from '../../support/system.js';
import { VECTOR_MNEMONIC } from '../../vectors/generate-data.js';

const WRITER = join(import.meta.dirname, '..', '..', '..', 'dist', 'test', 'support', 'agent-writer.js');
const KILLS = 50;
const dir = mkdtempSync(join(tmpdir(), 'qood-kill-agent-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pair(): void {
  const seed = seedFromMnemonic(VECTOR_MNEMONIC);
  const device = loadOrCreateDeviceKey(dir);
  writeFileSync(
    join(dir, 'binding.cbor'),
    createBinding({
      vehicleId: 'crash-car',
      devicePublicKey: device.publicKey,
      ownerSecretKey: ownerIdentity(seed).secretKey,
      dataRoot: vehicleDataRoot(seed, 'crash-car'),
      epochLengthS: 3600,
      issuedMs: Date.now(),
    }),
  );
}

async function runAndKill(rng: () => number): Promise<string[]> {
  const lines = await runThenKill(WRITER, [dir], 'ready\n', 50 + Math.floor(rng() * 400));
  return lines.filter((l) => l !== 'ready');
}

describeSystem('the agent killed with SIGKILL at 50 random instants', [], () => {
  it('never loses a committed chunk, and every stream hash chain stays whole across restarts', async () => {
    pair();
    const rng = xorshiftRng();
    const reported = new Map<string, string>();
    let perKill = 0;
    for (let k = 0; k < KILLS; k++) {
      const lines = await runAndKill(rng);
      perKill += lines.length;
      for (const l of lines) {
        const [stream, seq, id] = l.split(' ');
        reported.set(`${stream}#${seq}`, id!);
      }
      const store = openSqliteChunkStore({ path: join(dir, 'agent.db') });
      for (const [key, id] of reported) {
        const rec = store.get(id);
        expect(rec, `${key} was reported committed before kill ${k + 1}`).toBeDefined();
      }
      store.close();
    }
    expect(perKill / KILLS).toBeGreaterThan(2);

    const store = openSqliteChunkStore({ path: join(dir, 'agent.db') });
    const all: SealedChunkRecord[] = [];
    let after: { stream: string; seq: number } | undefined;
    for (;;) {
      const page = store.unsynced(500, after);
      if (page.length === 0) break;
      all.push(...page);
      const last = page.at(-1)!;
      after = { stream: last.stream, seq: last.seq };
    }
    store.close();
    const streams = new Map<string, SealedChunkRecord[]>();
    for (const r of all) streams.set(r.stream, [...(streams.get(r.stream) ?? []), r]);
    expect([...streams.keys()].sort()).toEqual(['all', 'fast']);
    for (const [stream, recs] of streams) {
      expect(
        recs.map((r) => r.seq),
        stream,
      ).toEqual(recs.map((_, i) => i));
      for (let i = 1; i < recs.length; i++) {
        const h = decodeSealedChunk(recs[i]!.bytes).header;
        expect(bytesEqual(h.prevId, fromHex(recs[i - 1]!.id)), `${stream}#${i} links to #${i - 1}`).toBe(
          true,
        );
      }
    }
    expect(all.length).toBeGreaterThanOrEqual(reported.size);
  }, 240_000);
});
