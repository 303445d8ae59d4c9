/**
 * What learning devices from the chain costs the ingest per record: the device key lookup of the
 * DeviceRegistry (node/ingest/device-keys.ts) against the static `ingest.deviceKeys` map, with
 * 10,000 vehicles bound in the final state; cached (the registry's normal path: one tree read per
 * vehicle and final block), and with a tree read for every lookup (what an uncached design would
 * pay: a tagged hash of the vehicle id, a SHA-256 of the state key and a tree walk). Then the whole
 * chunk check (signature, ciphertext hash) with each source, which is what a chunk really costs.
 */
import {
  type ChainState,
  chainVehicleId,
  createGenesis,
  Ed25519Signer,
  minimalParams,
  sha256,
  toHex,
  UNIT,
} from '../../chain/index.js';
import { Draft } from '../../chain/state/state.js';
import { DeviceRegistry, sealedChunkVerifier } from '../../node/ingest/index.js';
import { sealTestChunk } from '../support/chunks.js';
import type { BenchFigure, BenchSuite } from './harness.js';

const VEHICLES = 10_000;
const LOOKUPS = 200_000;
const CHUNKS = 2_000;

/** ns per call of `f` over `n` calls. */
function nsPer(n: number, f: (i: number) => void): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f(i);
  return Number(process.hrtime.bigint() - t0) / n;
}

export const suite: BenchSuite = {
  name: 'device-keys',
  figures: async (): Promise<readonly BenchFigure[]> => {
    const producer = new Ed25519Signer(sha256(new TextEncoder().encode('bench/producer')));
    const owner = toHex(sha256(new TextEncoder().encode('bench/owner')));
    const genesis = createGenesis({
      params: minimalParams('bench', toHex(producer.publicKey)),
      timeMs: 1_700_000_000_000,
      accounts: [{ address: toHex(producer.publicKey), qdt: 0n, staked: 1000n * UNIT }],
      producers: [{ address: toHex(producer.publicKey), url: 'https://bench.example' }],
    });
    const ids = Array.from({ length: VEHICLES }, (_, i) => `car-${i}`);
    const secret = (i: number) => sha256(new TextEncoder().encode(`bench/device-${i}`));
    // Device public keys derived once; the state is written directly (no transactions to sign).
    const devices = ids.map((_, i) => new Ed25519Signer(secret(i)));
    const d = new Draft(genesis);
    for (const [i, id] of ids.entries())
      d.setVehicle(chainVehicleId(id), { owner, devices: [toHex(devices[i]!.publicKey)] });
    const final: ChainState = d.finish(1, genesis.timeMs + 500, new Uint8Array(32));
    const staticKeys = Object.fromEntries(ids.map((id, i) => [id, toHex(devices[i]!.publicKey)]));

    const pinned = new DeviceRegistry({ staticKeys });
    const cached = new DeviceRegistry({ finalState: () => final, maxCached: VEHICLES });
    const uncached = new DeviceRegistry({ finalState: () => final, maxCached: 1 });
    const vehicleOf = (i: number) => ids[(i * 7919) % VEHICLES]!;
    const lookupStatic = () => nsPer(LOOKUPS, (i) => pinned.keysOf(vehicleOf(i)));

    // Chunks of 64 vehicles, signed by their devices, checked in turn.
    const chunks = Array.from(
      { length: 64 },
      (_, i) =>
        sealTestChunk({ vehicleId: ids[i]!, stream: 'can', seq: 1 }, new Uint8Array(1024), secret(i)).bytes,
    );
    const verifyStatic = sealedChunkVerifier(pinned);
    const verifyChain = sealedChunkVerifier(cached);
    const check = (verify: typeof verifyStatic) => () =>
      nsPer(CHUNKS, (i) => {
        if (!verify(chunks[i % chunks.length]!).ok) throw new Error('a bench chunk did not verify');
      }) / 1000;

    return [
      {
        name: `key lookup, chain final state, cached (${VEHICLES} vehicles)`,
        unit: 'ns/lookup',
        measure: () => nsPer(LOOKUPS, (i) => cached.keysOf(vehicleOf(i))),
        floor: { name: 'static deviceKeys map', measure: lookupStatic },
      },
      {
        name: `key lookup, chain final state, tree read each time (${VEHICLES} vehicles)`,
        unit: 'ns/lookup',
        measure: () => nsPer(LOOKUPS / 10, (i) => uncached.keysOf(vehicleOf(i))),
        floor: { name: 'static deviceKeys map', measure: lookupStatic },
      },
      {
        name: 'chunk check (1 KiB), keys from the chain',
        unit: 'µs/chunk',
        measure: check(verifyChain),
        floor: { name: 'chunk check, static map', measure: check(verifyStatic) },
      },
    ];
  },
};
