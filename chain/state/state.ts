/**
 * The chain state: parameters, the last block's height, time and id, and the state tree holding every
 * record. A state is immutable; `Draft` applies changes to a copy (sharing everything untouched), so
 * trying a transaction and dropping the result costs only the touched paths.
 */
import type { CanonicalValue } from '../codec/canonical.js';
import { encodeCanonical } from '../codec/canonical.js';
import { sha256 } from '../crypto/hash.js';
import type { ChainParams } from './params.js';
import {
  type Account,
  type Agreement,
  type Descriptor,
  EMPTY_ACCOUNT,
  encodeRecord,
  type Grant,
  type Order,
  type Producer,
  type Supply,
  type Vehicle,
} from './records.js';
import { type SmtNode, smtGet, smtRoot, smtSet } from './smt.js';

export interface ChainState {
  readonly params: ChainParams;
  /** Height of the last applied block (0: genesis). */
  readonly height: number;
  readonly timeMs: number;
  /** The genesis time, which slots and rounds count from (active-schedule.ts). */
  readonly genesisTimeMs: number;
  /** Id of the last applied header (the genesis id at height 0). */
  readonly blockId: Uint8Array;
  readonly tree: SmtNode | null;
  /** Registered producers' addresses, sorted (an index; the records are in the tree). */
  readonly producers: readonly string[];
}

/** The state tree key of each record kind; its SHA-256 is the tree path. */
export const stateKey = {
  account: (a: string) => `acct/${a}`,
  producer: (a: string) => `prod/${a}`,
  vehicle: (v: string) => `veh/${v}`,
  agreement: (id: string) => `agr/${id}`,
  descriptor: (id: string) => `desc/${id}`,
  order: (id: string) => `order/${id}`,
  grant: (id: string) => `grant/${id}`,
  evidence: (producer: string, height: number) => `ev/${producer}/${height}`,
  execution: (txId: string) => `exec/${txId}`,
  supply: () => 'supply',
  /** The elected schedule (see schedule-record.ts). */
  schedule: () => 'sched',
  /** The schedule consensus runs, and the next round's (see active-schedule.ts). */
  activeSchedule: () => 'sched/active',
} as const;

/** The tree path of a state key. */
export function keyHash(key: string): Uint8Array {
  return sha256(new TextEncoder().encode(key));
}

/** The state root committed in headers. */
export function stateRoot(s: ChainState): Uint8Array {
  return smtRoot(s.tree);
}

/** A record read from the tree, or undefined. */
export function getRecord<T>(tree: SmtNode | null, key: string): T | undefined {
  return smtGet(tree, keyHash(key))?.value as T | undefined;
}

/** The account at `address` (a fresh empty account when it has never been touched). */
export function getAccount(s: ChainState, address: string): Account {
  return getRecord<Account>(s.tree, stateKey.account(address)) ?? EMPTY_ACCOUNT;
}

/** Changes being made to a state; `finish` returns the new state. */
export class Draft {
  tree: SmtNode | null;
  producers: readonly string[];
  constructor(readonly base: ChainState) {
    this.tree = base.tree;
    this.producers = base.producers;
  }
  #get<T>(key: string): T | undefined {
    return getRecord<T>(this.tree, key);
  }
  #put(key: string, value: unknown, encoded: CanonicalValue): void {
    this.tree = smtSet(this.tree, keyHash(key), encodeCanonical(encoded), value);
  }
  account(a: string): Account {
    return this.#get<Account>(stateKey.account(a)) ?? EMPTY_ACCOUNT;
  }
  setAccount(a: string, v: Account): void {
    this.#put(stateKey.account(a), v, encodeRecord.account(v));
  }
  producer(a: string): Producer | undefined {
    return this.#get(stateKey.producer(a));
  }
  setProducer(a: string, v: Producer): void {
    if (!this.producers.includes(a)) this.producers = [...this.producers, a].sort();
    this.#put(stateKey.producer(a), v, encodeRecord.producer(v));
  }
  vehicle(id: string): Vehicle | undefined {
    return this.#get(stateKey.vehicle(id));
  }
  setVehicle(id: string, v: Vehicle): void {
    this.#put(stateKey.vehicle(id), v, encodeRecord.vehicle(v));
  }
  agreement(id: string): Agreement | undefined {
    return this.#get(stateKey.agreement(id));
  }
  setAgreement(id: string, v: Agreement): void {
    this.#put(stateKey.agreement(id), v, encodeRecord.agreement(v));
  }
  descriptor(id: string): Descriptor | undefined {
    return this.#get(stateKey.descriptor(id));
  }
  setDescriptor(id: string, v: Descriptor): void {
    this.#put(stateKey.descriptor(id), v, encodeRecord.descriptor(v));
  }
  order(id: string): Order | undefined {
    return this.#get(stateKey.order(id));
  }
  setOrder(id: string, v: Order): void {
    this.#put(stateKey.order(id), v, encodeRecord.order(v));
  }
  grant(id: string): Grant | undefined {
    return this.#get(stateKey.grant(id));
  }
  setGrant(id: string, v: Grant): void {
    this.#put(stateKey.grant(id), v, encodeRecord.grant(v));
  }
  hasEvidence(producer: string, height: number): boolean {
    return this.#get(stateKey.evidence(producer, height)) !== undefined;
  }
  setEvidence(producer: string, height: number, headerIds: readonly Uint8Array[]): void {
    this.#put(stateKey.evidence(producer, height), true, [...headerIds]);
  }
  setExecution(txId: string, grant: string, command: string, resultCode: number): void {
    this.#put(stateKey.execution(txId), true, [
      new Uint8Array(Buffer.from(grant, 'hex')),
      command,
      resultCode,
    ]);
  }
  /** Stores the elected schedule; `bytes` is its canonical encoding (schedule-record.ts). */
  setSchedule(schedule: readonly string[], bytes: Uint8Array): void {
    this.tree = smtSet(this.tree, keyHash(stateKey.schedule()), bytes, schedule);
  }
  /** Stores the active-schedule record; `bytes` is its canonical encoding (active-schedule.ts). */
  setActiveSchedule(record: unknown, bytes: Uint8Array): void {
    this.tree = smtSet(this.tree, keyHash(stateKey.activeSchedule()), bytes, record);
  }
  supply(): Supply {
    return this.#get<Supply>(stateKey.supply()) ?? { qdt: 0n, qdd: 0n, burned: 0n };
  }
  setSupply(v: Supply): void {
    this.#put(stateKey.supply(), v, encodeRecord.supply(v));
  }
  /** The new state at `height`, `timeMs`, after block `blockId`. */
  finish(height: number, timeMs: number, blockId: Uint8Array): ChainState {
    return {
      params: this.base.params,
      height,
      timeMs,
      genesisTimeMs: this.base.genesisTimeMs,
      blockId,
      tree: this.tree,
      producers: this.producers,
    };
  }
}
