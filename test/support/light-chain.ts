/**
 * A chain for light-client tests and benches, built with the real state machine: `producers`
 * genesis producers and one challenger per schedule change, one block per slot (block h at slot h),
 * rounds of `roundBlocks` slots. Challenger i registers, stakes more than the weakest scheduled
 * producer and votes for itself in block `electAt[i]`; the state records the new election there,
 * and, as consensus does, it runs from the round after next (the round's last block decides the
 * round after the following one): the state's `sched/active` record says which schedule is in
 * force at every block. Every block is produced by a producer of that schedule and every block can
 * be certified by a quorum of it.
 */
import {
  activeSchedule,
  applyBlock,
  type Block,
  buildBlock,
  type ChainState,
  type Checkpoint,
  createGenesis,
  Ed25519Signer,
  type FinalityUpdate,
  type FinalityVote,
  type GenesisSpec,
  getAccount,
  headerId,
  mainnetParams,
  minimalParams,
  producerForSlot,
  proveKey,
  roundParams,
  type SignedTx,
  scheduleForBlock,
  sha256,
  signTx,
  signVote,
  stateKey,
  type TxBodies,
  type TxKind,
  toHex,
  UNIT,
  type UnsignedTx,
} from '../../chain/index.js';

export const LIGHT_CHAIN_ID = 'qood-light';
export const LIGHT_T0 = 1_700_000_000_000;

/** A key pair from a label. */
export function lightKey(label: string): Ed25519Signer {
  return new Ed25519Signer(sha256(new TextEncoder().encode(`light-key/${label}`)));
}

const addr = (s: Ed25519Signer) => toHex(s.publicKey);

export interface LightChainSpec {
  /** Schedule size (4: the minimal preset; 21: mainnet). */
  readonly producers: number;
  /** Heights whose block elects a new schedule (one challenger each). */
  readonly electAt: readonly number[];
  /** The last height built. */
  readonly height: number;
  /** Slots (and blocks) per round, a multiple of `producers` (blocksPerTurn = roundBlocks / producers). */
  readonly roundBlocks: number;
  /** Extra transactions to put in a block, by height (grants, transfers ...). */
  readonly extra?: (state: ChainState, height: number) => SignedTx[];
  /** Accounts funded at genesis besides producers and challengers. */
  readonly accounts?: readonly { readonly address: string; readonly qdt: bigint; readonly qdd?: bigint }[];
  /** Default LIGHT_CHAIN_ID. */
  readonly chainId?: string;
}

export interface LightChain {
  /** states[h]: the state after block h (states[0]: genesis). */
  readonly states: ChainState[];
  /** blocks[h]: block h (blocks[0] is undefined). */
  readonly blocks: (Block | undefined)[];
  /** active[h]: the schedule that certifies block h. */
  readonly active: string[][];
  /** Heights at which the active schedule changed. */
  readonly activations: number[];
  readonly signers: Map<string, Ed25519Signer>;
  /** The genesis spec the chain was built from. */
  readonly genesisSpec: GenesisSpec;
}

/** A signed transaction with the sender's next nonce in `state` (plus `offset`). */
export function lightTx<K extends TxKind>(
  state: ChainState,
  signer: Ed25519Signer,
  kind: K,
  body: TxBodies[K],
  offset = 0,
): SignedTx {
  const u = {
    chainId: state.params.chainId,
    kind,
    sender: addr(signer),
    nonce: getAccount(state, addr(signer)).nonce + offset,
    fee: 0n,
    body,
  } as UnsignedTx;
  return signTx(u, signer);
}

/** Builds the chain of `spec`; throws if a block fails to apply. */
export function buildLightChain(spec: LightChainSpec): LightChain {
  const genesisProducers = Array.from({ length: spec.producers }, (_, i) => lightKey(`producer-${i}`));
  const challengers = spec.electAt.map((_, i) => lightKey(`challenger-${i}`));
  const issuer = lightKey('issuer');
  const chainId = spec.chainId ?? LIGHT_CHAIN_ID;
  if (spec.roundBlocks % spec.producers !== 0)
    throw new RangeError(`roundBlocks ${spec.roundBlocks} is not a multiple of ${spec.producers} producers`);
  const blocksPerTurn = spec.roundBlocks / spec.producers;
  const params =
    spec.producers === 4
      ? { ...minimalParams(chainId, addr(issuer)), blocksPerTurn }
      : { ...mainnetParams(chainId, addr(issuer)), scheduleSize: spec.producers, blocksPerTurn };
  const signers = new Map<string, Ed25519Signer>();
  for (const k of [...genesisProducers, ...challengers]) signers.set(addr(k), k);
  const genesisSpec: GenesisSpec = {
    params,
    timeMs: LIGHT_T0,
    accounts: [
      ...genesisProducers.map((p, i) => ({
        address: addr(p),
        qdt: 10n * UNIT,
        staked: BigInt(1000 + i) * UNIT,
      })),
      ...challengers.map((c) => ({ address: addr(c), qdt: 100_000n * UNIT })),
      ...(spec.accounts ?? []),
    ],
    producers: genesisProducers.map((p, i) => ({ address: addr(p), url: `https://p${i}.example` })),
  };
  const genesis = createGenesis(genesisSpec);
  const states: ChainState[] = [genesis];
  const blocks: (Block | undefined)[] = [undefined];
  const active: string[][] = [[...activeSchedule(genesis)!.schedule]];
  const activations: number[] = [];
  for (let h = 1; h <= spec.height; h++) {
    const prev = states[h - 1]!;
    const timeMs = LIGHT_T0 + 500 * h;
    const schedule = [...scheduleForBlock(prev, h, timeMs)!.schedule];
    if (schedule.join() !== active[h - 1]!.join()) activations.push(h);
    active.push(schedule);
    const txs: SignedTx[] = [];
    const ci = spec.electAt.indexOf(h);
    if (ci >= 0) {
      const c = challengers[ci]!;
      const stake = BigInt(2000 + 1000 * ci) * UNIT;
      txs.push(lightTx(prev, c, 'registerProducer', { url: `https://c${ci}.example` }));
      txs.push(lightTx(prev, c, 'stake', { amount: stake }, 1));
      txs.push(lightTx(prev, c, 'vote', { producers: [addr(c)] }, 2));
    }
    txs.push(...(spec.extra?.(prev, h) ?? []));
    const producer = signers.get(producerForSlot(schedule, h, blocksPerTurn))!;
    const built = buildBlock(prev, txs, producer, timeMs);
    if (built.rejected.length > 0) throw built.rejected[0]!.error;
    const applied = applyBlock(prev, built.block);
    if (!applied.ok) throw applied.error;
    if (activeSchedule(applied.state)!.schedule.join() !== schedule.join())
      throw new Error(`block ${h}: the state records another schedule than the one it was built under`);
    states.push(applied.state);
    blocks.push(built.block);
  }
  return { states, blocks, active, activations, signers, genesisSpec };
}

/** The header of block `h` (the genesis state's pseudo-header for 0 is not a block: use h >= 1). */
export function headerAt(chain: LightChain, h: number) {
  return chain.blocks[h]!.header.header;
}

/**
 * Votes for block `h` by the first `count` members of the active schedule (default: all of them, as
 * a certificate carries every vote that arrived in time; finalityQuorum of them suffice).
 */
export function votesAt(chain: LightChain, h: number, count?: number): FinalityVote[] {
  const header = headerAt(chain, h);
  const schedule = chain.active[h]!;
  const n = count ?? schedule.length;
  return schedule
    .slice(0, n)
    .map((p) => signVote(chain.signers.get(p)!, header.chainId, h, headerId(header)));
}

/**
 * A finality update for block `h`: a quorum's votes, the proven `sched/active` record of its state
 * (what a client needs when `h` opens a later round than its head; harmless otherwise), and proofs
 * of `keys`.
 */
export function updateAt(chain: LightChain, h: number, keys: readonly string[] = []): FinalityUpdate {
  const state = chain.states[h]!;
  return {
    header: headerAt(chain, h),
    votes: votesAt(chain, h),
    schedule: { record: activeSchedule(state)!, proof: proveKey(state, stateKey.activeSchedule()).proof },
    proofs: keys.map((k) => {
      const p = proveKey(state, k);
      return { key: k, value: p.value, proof: p.proof };
    }),
  };
}

/** A checkpoint at block `h` (h >= 1: genesis has no header): both schedules of its state and the round parameters. */
export function checkpointAt(chain: LightChain, h: number): Checkpoint {
  const record = activeSchedule(chain.states[h]!)!;
  return {
    header: headerAt(chain, h),
    schedule: [...record.schedule],
    next: [...record.next],
    rounds: roundParams(chain.states[h]!),
  };
}

/** A vehicle, its owner and a grantee for chains that carry grants. */
export const grantParties = {
  owner: lightKey('owner'),
  grantee: lightKey('grantee'),
  vehicle: toHex(sha256(new TextEncoder().encode('light-vehicle'))),
} as const;

/**
 * Transactions for `extra`: the owner registers the vehicle at `at.register`, grants a listen grant
 * at each height of `at.grant`, and revokes the first grant at `at.revoke`. `ids` fills with the
 * grant ids (hex) as the chain is built.
 */
export function grantActivity(at: { register: number; grant: readonly number[]; revoke?: number }) {
  const { owner, grantee, vehicle } = grantParties;
  const ids: string[] = [];
  const extra = (s: ChainState, h: number): SignedTx[] => {
    if (h === at.register) return [lightTx(s, owner, 'registerVehicle', { vehicle })];
    if (at.grant.includes(h)) {
      const t = lightTx(s, owner, 'grant', {
        vehicle,
        grantee: addr(grantee),
        kind: 'listen',
        scope: ['Vehicle.Speed'],
        fromMs: LIGHT_T0,
        toMs: LIGHT_T0 + 3600_000,
        termsHash: sha256(Uint8Array.of(h)),
      });
      ids.push(toHex(t.id));
      return [t];
    }
    if (h === at.revoke) return [lightTx(s, owner, 'revoke', { grant: ids[0]! })];
    return [];
  };
  return { ids, extra, accounts: [{ address: addr(owner), qdt: 1000n * UNIT }] };
}
