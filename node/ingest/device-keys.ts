/**
 * Which device keys may sign a vehicle's records. The chain is the source of truth: a vehicle
 * record (`registerVehicle`, then `bindDevice` by its owner; chain/state/apply-market.ts) lists the
 * device keys its owner bound, and the ingest serves exactly those, read from the node's last
 * *final* state. Final rather than head: a binding in a block that a fork drops must not have let
 * a key's records be stored and acknowledged, and finality follows a block within about half a
 * second (README, "Consensus"), so a device bound a moment ago is served within a second or two.
 *
 * Lookups are cached per vehicle. A node tells the registry which vehicles each newly final block
 * touched (`finalised`: the vehicles of its `registerVehicle` and `bindDevice` transactions, the
 * only kinds that write a vehicle record), and only those entries are dropped, so a vehicle that
 * sends a chunk a minute costs one tree read, not one per final block (a block every half second).
 * As a safety net against a kind that writes vehicle records being added without this list
 * following, the whole cache is dropped every `fullRefreshBlocks` final blocks (default 120, a
 * minute), and at once when a final block's transactions are not at hand. Without a block feed
 * (`attachChain` with `followsBlocks: false`, as in tests) the cache is dropped whenever the final
 * state object changes. Reading the state tree for every chunk costs a tagged hash and a tree walk
 * (test/bench/device-keys.bench.ts measures both); the cache is bounded, so records published on
 * the topics of many unknown vehicles cannot grow it without end.
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
  type SignedTx,
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
  /** Final blocks after which the whole cache is dropped when blocks are followed (default 120). */
  readonly fullRefreshBlocks?: number;
}

/** How the registry learns that bindings changed (see the module comment). */
export interface AttachOptions {
  /** The caller calls `finalised` with every newly final block; default false (drop on each new final state). */
  readonly followsBlocks?: boolean;
}

/** Transaction kinds that write a vehicle record (chain/state/apply.ts); a new one must be listed here. */
const VEHICLE_WRITERS: ReadonlySet<string> = new Set(['registerVehicle', 'bindDevice']);

/** Counters a DeviceRegistry keeps (for the bench and the status). */
export interface DeviceRegistryStats {
  /** Lookups answered by the static map. */
  staticHits: number;
  /** Lookups answered from the cache of the current final state. */
  cacheHits: number;
  /** Lookups that read the state tree. */
  stateReads: number;
  /** Times the whole cache was dropped (a new final state without a block feed, or the safety net). */
  refreshes: number;
  /** Cached vehicles dropped because a final block touched them. */
  invalidated: number;
}

/** A vehicle's bound keys as read from the state tree. */
interface CacheEntry {
  readonly keys: readonly Uint8Array[];
  readonly registered: boolean;
}

const NO_CHAIN: BoundKeys = { keys: [], source: 'not in ingest.deviceKeys, and no chain role' };

/** The device keys of every vehicle: the static override, then the chain's final state. */
export class DeviceRegistry implements DeviceKeySource {
  readonly #static: ReadonlyMap<string, BoundKeys>;
  #finalState: (() => ChainState | undefined) | undefined;
  readonly #maxCached: number;
  readonly #maxNames: number;
  #cachedFor: ChainState | undefined;
  readonly #cache = new Map<string, CacheEntry>();
  /** Chain vehicle id -> config id, of every vehicle looked up and found bound (and those `learn`t). */
  readonly #names = new Map<string, string>();
  /** Chain vehicle id -> config id, of the cached entries (to drop what a final block touched). */
  readonly #cachedIds = new Map<string, string>();
  readonly #fullRefreshBlocks: number;
  #followsBlocks = false;
  #blocksSinceRefresh = 0;
  /** Highest final height `finalised` was told about (or seen at attach). */
  #toldThrough = 0;
  readonly stats: DeviceRegistryStats = {
    staticHits: 0,
    cacheHits: 0,
    stateReads: 0,
    refreshes: 0,
    invalidated: 0,
  };

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
    this.#fullRefreshBlocks = options.fullRefreshBlocks ?? 120;
  }

  /** Starts reading bindings from the chain (the chain role starts after the ingest role). */
  attachChain(finalState: () => ChainState | undefined, options: AttachOptions = {}): void {
    this.#finalState = finalState;
    this.#followsBlocks = options.followsBlocks === true;
    this.#toldThrough = finalState()?.height ?? 0;
    this.#dropAll();
  }

  /**
   * Newly final blocks, oldest first, with their transactions (undefined: not at hand, which
   * drops the whole cache). Drops the cached keys of the vehicles they touched.
   */
  finalised(
    blocks: readonly { readonly height: number; readonly txs: readonly SignedTx[] | undefined }[],
  ): void {
    for (const b of blocks) this.#toldThrough = Math.max(this.#toldThrough, b.height);
    this.#blocksSinceRefresh += blocks.length;
    if (this.#blocksSinceRefresh >= this.#fullRefreshBlocks || blocks.some((b) => b.txs === undefined)) {
      this.#dropAll();
      return;
    }
    for (const b of blocks)
      for (const t of b.txs!) {
        if (!VEHICLE_WRITERS.has(t.tx.kind)) continue;
        const chainId = (t.tx.body as { vehicle: string }).vehicle;
        const vehicleId = this.#cachedIds.get(chainId);
        if (vehicleId === undefined) continue;
        this.#cache.delete(vehicleId);
        this.#cachedIds.delete(chainId);
        this.stats.invalidated++;
      }
  }

  #dropAll(): void {
    if (this.#cache.size > 0) this.stats.refreshes++;
    this.#cache.clear();
    this.#cachedIds.clear();
    this.#blocksSinceRefresh = 0;
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
      // Without a block feed, any binding may have changed with a new final state; with one, a
      // final state past the blocks it was told about means some were missed.
      if (!this.#followsBlocks || state.height > this.#toldThrough) {
        this.#dropAll();
        this.#toldThrough = Math.max(this.#toldThrough, state.height);
      }
      this.#cachedFor = state;
    }
    const cached = this.#cache.get(vehicleId);
    if (cached !== undefined) {
      this.stats.cacheHits++;
      return cached.keys.length === 0 && !cached.registered
        ? { keys: cached.keys, source: `chain at final height ${state.height}: vehicle not registered` }
        : { keys: cached.keys, source: `chain at final height ${state.height}` };
    }
    this.stats.stateReads++;
    const chainId = chainVehicleId(vehicleId);
    const record = getRecord<Vehicle>(state.tree, stateKey.vehicle(chainId));
    const entry: CacheEntry = {
      keys: record === undefined ? [] : decodeDevices(record),
      registered: record !== undefined,
    };
    if (this.#cache.size >= this.#maxCached) {
      const oldest = this.#cache.keys().next().value!;
      this.#cache.delete(oldest);
      this.#cachedIds.delete(chainVehicleId(oldest));
    }
    this.#cache.set(vehicleId, entry);
    this.#cachedIds.set(chainId, vehicleId);
    if (entry.keys.length > 0) this.learn(vehicleId);
    return entry.registered
      ? { keys: entry.keys, source: `chain at final height ${state.height}` }
      : { keys: entry.keys, source: `chain at final height ${state.height}: vehicle not registered` };
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
