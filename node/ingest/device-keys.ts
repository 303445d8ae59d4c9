/**
 * Which device keys may sign a vehicle's records. The chain is the source of truth: a vehicle
 * record (`registerVehicle`, then `bindDevice` by its owner; chain/state/apply-market.ts) lists the
 * device keys its owner bound, and the ingest serves exactly those, read from the node's last
 * *final* state. Final rather than head: a binding in a block that a fork drops must not have let
 * a key's records be stored and acknowledged, and finality follows a block within about half a
 * second (README, "Consensus"), so a device bound a moment ago is served within a second or two.
 *
 * Lookups are cached per vehicle for one final state and the cache is dropped when the final state
 * changes (an object comparison per lookup, so a binding or a removal takes effect with the next
 * final block, without a restart). Reading the state tree for every chunk costs a tagged hash and a
 * tree walk (test/bench/device-keys.bench.ts measures both); the cache is bounded, so records
 * published on the topics of many unknown vehicles cannot grow it without end.
 *
 * The static map (`ingest.deviceKeys`) is an override for tests and nodes without a chain role: a
 * vehicle it names is served with that key only, whatever the chain says, because it is the
 * operator's own statement (and the only one a node without a chain has). Devices of vehicles it
 * does not name come from the chain.
 */
import {
  type ChainState,
  chainVehicleId,
  fromHex,
  getRecord,
  stateKey,
  type Vehicle,
} from '../../chain/index.js';

/** The device keys that may sign for a vehicle now, and where that was learnt (for refusal reasons). */
export interface BoundKeys {
  readonly keys: readonly Uint8Array[];
  /** `ingest.deviceKeys`, `chain at final height N`, or why there is no answer. */
  readonly source: string;
}

/** What the ingest's verifiers ask about a vehicle (config id, as on its topics and in its records). */
export interface DeviceKeySource {
  keysOf(vehicleId: string): BoundKeys;
}

/** Options of a DeviceRegistry. */
export interface DeviceRegistryOptions {
  /** Vehicle id -> device public key (64 hex digits): wins over the chain for the vehicles it names. */
  readonly staticKeys?: Readonly<Record<string, string>>;
  /** The node's last final state; without it only the static keys are known (see `attachChain`). */
  readonly finalState?: () => ChainState | undefined;
  /** Vehicles whose chain bindings are cached for the current final state (default 10000). */
  readonly maxCached?: number;
  /** Config ids remembered for chain vehicle ids (default 100000; for the device link's notices). */
  readonly maxNames?: number;
}

/** Counters a DeviceRegistry keeps (for the bench and the status). */
export interface DeviceRegistryStats {
  /** Lookups answered by the static map. */
  staticHits: number;
  /** Lookups answered from the cache of the current final state. */
  cacheHits: number;
  /** Lookups that read the state tree. */
  stateReads: number;
  /** Times the cache was dropped because the final state changed. */
  refreshes: number;
}

const NO_CHAIN: BoundKeys = { keys: [], source: 'not in ingest.deviceKeys, and no chain role' };

/** The device keys of every vehicle: the static override, then the chain's final state. */
export class DeviceRegistry implements DeviceKeySource {
  readonly #static: ReadonlyMap<string, BoundKeys>;
  #finalState: (() => ChainState | undefined) | undefined;
  readonly #maxCached: number;
  readonly #maxNames: number;
  #cachedFor: ChainState | undefined;
  readonly #cache = new Map<string, BoundKeys>();
  /** Chain vehicle id -> config id, of every vehicle looked up and found bound (and those `learn`t). */
  readonly #names = new Map<string, string>();
  readonly stats: DeviceRegistryStats = { staticHits: 0, cacheHits: 0, stateReads: 0, refreshes: 0 };

  constructor(options: DeviceRegistryOptions = {}) {
    this.#static = new Map(
      Object.entries(options.staticKeys ?? {}).map(([v, k]) => [
        v,
        { keys: [fromHex(k.toLowerCase())], source: 'ingest.deviceKeys' },
      ]),
    );
    for (const v of this.#static.keys()) this.#names.set(chainVehicleId(v), v);
    this.#finalState = options.finalState;
    this.#maxCached = options.maxCached ?? 10_000;
    this.#maxNames = options.maxNames ?? 100_000;
  }

  /** Starts reading bindings from the chain (the chain role starts after the ingest role). */
  attachChain(finalState: () => ChainState | undefined): void {
    this.#finalState = finalState;
  }

  /** Vehicles the static map names. */
  get staticVehicles(): readonly string[] {
    return [...this.#static.keys()];
  }

  /** The device keys that may sign for `vehicleId` now. */
  keysOf(vehicleId: string): BoundKeys {
    const pinned = this.#static.get(vehicleId);
    if (pinned !== undefined) {
      this.stats.staticHits++;
      return pinned;
    }
    const state = this.#finalState?.();
    if (state === undefined) return NO_CHAIN;
    if (state !== this.#cachedFor) {
      // A new final block: any binding may have changed. Dropping everything is simpler than
      // replaying the new blocks' bindDevice transactions, and a refill costs one tree read each.
      if (this.#cachedFor !== undefined) this.stats.refreshes++;
      this.#cache.clear();
      this.#cachedFor = state;
    }
    const cached = this.#cache.get(vehicleId);
    if (cached !== undefined) {
      this.stats.cacheHits++;
      return cached;
    }
    this.stats.stateReads++;
    const chainId = chainVehicleId(vehicleId);
    const record = getRecord<Vehicle>(state.tree, stateKey.vehicle(chainId));
    const found: BoundKeys =
      record === undefined
        ? { keys: [], source: `chain at final height ${state.height} (vehicle not registered)` }
        : {
            keys: decodeDevices(record),
            source: `chain at final height ${state.height}`,
          };
    if (this.#cache.size >= this.#maxCached) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(vehicleId, found);
    if (found.keys.length > 0) this.learn(vehicleId);
    return found;
  }

  /** Remembers the config id of a vehicle (e.g. one whose descriptors the ingest database holds). */
  learn(vehicleId: string): void {
    const chainId = chainVehicleId(vehicleId);
    if (this.#names.get(chainId) === vehicleId) return;
    if (this.#names.size >= this.#maxNames) this.#names.delete(this.#names.keys().next().value!);
    this.#names.set(chainId, vehicleId);
  }

  /** The config id of a chain vehicle id, when this node has seen it (static keys, records, `learn`). */
  vehicleIdOf(chainId: string): string | undefined {
    return this.#names.get(chainId);
  }
}

/** A source that knows only a static map (what `deviceVerifiers(record)` builds). */
export function staticDeviceKeys(keys: Readonly<Record<string, string>>): DeviceKeySource {
  return new DeviceRegistry({ staticKeys: keys });
}

/** The record's device keys as bytes (a state record holds them as checked hex). */
function decodeDevices(v: Vehicle): Uint8Array[] {
  return v.devices.map((d) => fromHex(d));
}
