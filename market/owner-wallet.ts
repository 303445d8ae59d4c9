/**
 * The owner's wallet as a TypeScript API (the `qood owner` commands use it): from the owner key
 * (ownerIdentity of the seed, as `qood keys` and the demo derive it) it builds and signs the owner's
 * transactions (register a vehicle, bind a device, grant, revoke, fund a device), takes the nonce
 * and the fee hint from the node (`/accounts/<a>/next-free-tx`), submits them, and waits until they
 * are final.
 *
 * Nothing the node says about the chain is believed on its word. "Final" means the light client
 * (proven-reader.ts) proved, against a finality certificate, the owner's account with its nonce
 * past the transaction's AND the transaction's effect in the final state: the vehicle record owned
 * by this key, the device in its list, the grant record under the transaction's id (a grant's id is
 * its transaction's id, so the record proves this very transaction was applied), the grant marked
 * revoked. Balances and records are read the same way, and the history walks final blocks back from
 * the certified head by their hash links. Only hints stay unproven: `/status` (the chain id) and
 * the next nonce and mana (a wrong one gets the transaction refused, nothing worse).
 */
import {
  type Account,
  bytesEqual,
  chainVehicleId,
  decodeAccount,
  decodeBlock,
  decodeGrant,
  decodeVehicle,
  Ed25519Signer,
  encodeSignedTx,
  fromHex,
  type Grant,
  type GrantExtension,
  headerId,
  merkleRoot,
  type SignedTx,
  signTx,
  stateKey,
  type Token,
  type TxBodies,
  type TxKind,
  toHex,
  type UnsignedTx,
  type Vehicle,
} from '../chain/index.js';
import { MarketError } from './errors.js';
import { type FetchFn, NodeHttp } from './http.js';
import { decodeRecord, type Proven, ProvenReader } from './proven-reader.js';

/** Options of an OwnerWallet. */
export interface OwnerWalletOptions {
  /** The node's HTTP API, e.g. http://127.0.0.1:26700. */
  readonly nodeUrl: string;
  /** The owner's ed25519 secret key (32 bytes): ownerIdentity(seed).secretKey. */
  readonly secretKey: Uint8Array;
  readonly fetch?: FetchFn;
  /** Per request (default 10 s). */
  readonly timeoutMs?: number;
  readonly nowMs?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** A light-client checkpoint the owner trusts; without it the node's, at first use. */
  readonly checkpoint?: Uint8Array;
  /** Called once when the node's checkpoint is taken on trust (see proven-reader.ts). */
  readonly onNodeCheckpoint?: (height: number) => void;
  /** How long a transaction may take to become final (default 60 s). */
  readonly finalTimeoutMs?: number;
  /** How often the final state is polled while waiting (default 250 ms). */
  readonly pollMs?: number;
}

/** A transaction the node accepted into its mempool. */
export interface SubmittedTx {
  readonly txId: string;
  readonly kind: TxKind;
  readonly nonce: number;
  /** QDT base units paid as a fee (0 when the owner's mana covered it). */
  readonly fee: bigint;
  readonly signed: SignedTx;
}

/** A transaction proven final, with the final height at which it was seen. */
export interface FinalTx extends SubmittedTx {
  readonly height: number;
}

/** The owner's account in the final state, as proven. */
export interface OwnerBalance {
  readonly address: string;
  readonly height: number;
  readonly qdt: bigint;
  readonly qdd: bigint;
  readonly staked: bigint;
  readonly nonce: number;
}

/** A grant to sign: the chain body without the vehicle's chain id, which the wallet derives. */
export interface GrantRequest {
  /** The vehicle's config id (device.vehicleId). */
  readonly vehicleId: string;
  /** Grantee ed25519 public key, hex. */
  readonly grantee: string;
  readonly kind: 'listen' | 'control';
  readonly scope: readonly string[];
  readonly fromMs: number;
  readonly toMs: number;
  /** termsHash of the encoded terms the bundle carries (agent/permissions/terms.ts). */
  readonly termsHash: Uint8Array;
  readonly extension?: GrantExtension;
}

/** One of the owner's transactions found in a final block. */
export interface HistoryEntry {
  readonly height: number;
  readonly timeMs: number;
  readonly txId: string;
  readonly kind: TxKind;
  /** `out` for the owner's own transactions, `in` for transfers to the owner. */
  readonly direction: 'out' | 'in';
  readonly sender: string;
  readonly nonce: number;
  readonly body: TxBodies[TxKind];
}

/** The verified history: entries newest first, and the heights walked. */
export interface OwnerHistory {
  readonly entries: readonly HistoryEntry[];
  readonly fromHeight: number;
  readonly toHeight: number;
}

/** What proves a transaction's effect: the keys to read and a check of their proven values. */
interface Effect {
  readonly keys: readonly string[];
  /** Undefined when the effect is there; otherwise what is missing. */
  readonly missing: (values: ReadonlyMap<string, Uint8Array | null>) => string | undefined;
}

const HEX32 = /^[0-9a-f]{64}$/;

/** The owner's wallet over one node's HTTP API. */
export class OwnerWallet {
  /** The owner's account address (hex ed25519 public key). */
  readonly address: string;
  readonly #http: NodeHttp;
  readonly #reader: ProvenReader;
  readonly #signer: Ed25519Signer;
  readonly #nowMs: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #finalTimeoutMs: number;
  readonly #pollMs: number;
  #chainId: string | undefined;
  /** The nonce after the last transaction this wallet submitted (pending ones are not in the head). */
  #nextNonce = 0;

  constructor(options: OwnerWalletOptions) {
    this.#http = new NodeHttp({
      baseUrl: options.nodeUrl,
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
    this.#reader = new ProvenReader({
      http: this.#http,
      checkpoint: options.checkpoint,
      onNodeCheckpoint: options.onNodeCheckpoint,
    });
    this.#signer = new Ed25519Signer(options.secretKey);
    this.address = toHex(this.#signer.publicKey);
    this.#nowMs = options.nowMs ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.#finalTimeoutMs = options.finalTimeoutMs ?? 60_000;
    this.#pollMs = options.pollMs ?? 250;
  }

  /** The owner's account in the last final state (zero balances for an account never used). */
  async balance(): Promise<OwnerBalance> {
    const key = stateKey.account(this.address);
    const s = await this.#reader.proven([key]);
    const a = this.#account(s);
    return {
      address: this.address,
      height: s.height,
      qdt: a?.qdt ?? 0n,
      qdd: a?.qdd ?? 0n,
      staked: a?.staked ?? 0n,
      nonce: a?.nonce ?? 0,
    };
  }

  /** The vehicle's record in the final state, or undefined when it is not registered. */
  async vehicle(vehicleId: string): Promise<Vehicle | undefined> {
    const key = stateKey.vehicle(chainVehicleId(vehicleId));
    const v = (await this.#reader.proven([key])).values.get(key);
    return v === null || v === undefined ? undefined : decodeRecord(decodeVehicle, v, 'vehicle');
  }

  /** The grant's record in the final state, or undefined when there is none. */
  async grant(grantId: string): Promise<Grant | undefined> {
    checkHex(grantId, 'grant id');
    const key = stateKey.grant(grantId);
    const v = (await this.#reader.proven([key])).values.get(key);
    return v === null || v === undefined ? undefined : decodeRecord(decodeGrant, v, 'grant');
  }

  /** Registers `vehicleId` to the owner and waits until it is final. */
  async registerVehicle(vehicleId: string): Promise<FinalTx & { vehicle: string }> {
    const vehicle = chainVehicleId(vehicleId);
    const existing = await this.vehicle(vehicleId);
    if (existing !== undefined)
      throw new MarketError(
        existing.owner === this.address ? 'ALREADY_DONE' : 'NOT_OWNER',
        `vehicle '${vehicleId}' (${vehicle.slice(0, 16)}...) is already registered to ${existing.owner === this.address ? 'this owner' : `${existing.owner.slice(0, 16)}...`}`,
      );
    const key = stateKey.vehicle(vehicle);
    const sub = await this.submit(this.sign('registerVehicle', { vehicle }, await this.#prepare()));
    const final = await this.waitFinal(sub, {
      keys: [key],
      missing: (v) => {
        const r = v.get(key);
        return r === null ||
          r === undefined ||
          decodeRecord(decodeVehicle, r, 'vehicle').owner !== this.address
          ? `vehicle ${vehicle.slice(0, 16)}... registered to ${this.address.slice(0, 16)}...`
          : undefined;
      },
    });
    return { ...final, vehicle };
  }

  /** Binds the device key `device` (hex) to the owner's vehicle and waits until it is final. */
  async bindDevice(vehicleId: string, device: string): Promise<FinalTx & { vehicle: string }> {
    checkHex(device, 'device key');
    const vehicle = chainVehicleId(vehicleId);
    await this.#ownVehicle(vehicleId);
    const key = stateKey.vehicle(vehicle);
    const sub = await this.submit(this.sign('bindDevice', { vehicle, device }, await this.#prepare()));
    const final = await this.waitFinal(sub, {
      keys: [key],
      missing: (v) => {
        const r = v.get(key);
        return r === null ||
          r === undefined ||
          !decodeRecord(decodeVehicle, r, 'vehicle').devices.includes(device)
          ? `device ${device.slice(0, 16)}... bound to vehicle ${vehicle.slice(0, 16)}...`
          : undefined;
      },
    });
    return { ...final, vehicle };
  }

  /**
   * Signs a grant transaction with a nonce from the node; the caller bundles it with the terms for
   * the device (agent/permissions) and submits it with `submitGrant`.
   */
  async signGrant(g: GrantRequest): Promise<SignedTx> {
    checkHex(g.grantee, 'grantee');
    await this.#ownVehicle(g.vehicleId);
    const { vehicleId, ...rest } = g;
    return this.sign(
      'grant',
      { ...rest, vehicle: chainVehicleId(vehicleId), scope: [...g.scope] },
      await this.#prepare(),
    );
  }

  /** Submits a signed grant and waits until its record (under the transaction's id) is final. */
  async submitGrant(signed: SignedTx): Promise<FinalTx & { grantId: string; grant: Grant }> {
    if (signed.tx.kind !== 'grant' || signed.tx.sender !== this.address)
      throw new MarketError(
        'NOT_OWNER',
        `transaction ${toHex(signed.id).slice(0, 16)}... is not a grant of this owner`,
      );
    const grantId = toHex(signed.id);
    const key = stateKey.grant(grantId);
    const final = await this.waitFinal(await this.submit(signed), {
      keys: [key],
      missing: (v) => (v.get(key) ? undefined : `grant ${grantId.slice(0, 16)}... on chain`),
    });
    const grant = await this.grant(grantId);
    return { ...final, grantId, grant: grant! };
  }

  /** Revokes a grant of the owner on chain and waits until the record shows it revoked. */
  async revoke(grantId: string): Promise<FinalTx & { grant: Grant }> {
    return this.submitRevoke(await this.signRevoke(grantId));
  }

  /**
   * Signs the revoke transaction of a live grant of the owner, with a nonce from the node: the
   * bytes the device also takes on its revoke topic (agent/permissions).
   */
  async signRevoke(grantId: string): Promise<SignedTx> {
    const g = await this.grant(grantId);
    if (g === undefined)
      throw new MarketError('MISSING_RECORD', `no grant ${grantId.slice(0, 16)}... in the final state`);
    if (g.revoked)
      throw new MarketError(
        'ALREADY_DONE',
        `grant ${grantId.slice(0, 16)}... is already revoked (at ${new Date(g.revokedMs).toISOString()})`,
      );
    return this.sign('revoke', { grant: grantId }, await this.#prepare());
  }

  /** Submits a signed revoke and waits until the grant's record is final and revoked. */
  async submitRevoke(signed: SignedTx): Promise<FinalTx & { grant: Grant }> {
    if (signed.tx.kind !== 'revoke' || signed.tx.sender !== this.address)
      throw new MarketError(
        'NOT_OWNER',
        `transaction ${toHex(signed.id).slice(0, 16)}... is not a revoke of this owner`,
      );
    const grantId = (signed.tx.body as TxBodies['revoke']).grant;
    const key = stateKey.grant(grantId);
    const final = await this.waitFinal(await this.submit(signed), {
      keys: [key],
      missing: (v) => {
        const r = v.get(key);
        return r === null || r === undefined || !decodeRecord(decodeGrant, r, 'grant').revoked
          ? `grant ${grantId.slice(0, 16)}... revoked`
          : undefined;
      },
    });
    return { ...final, grant: (await this.grant(grantId))! };
  }

  /**
   * Sends `amount` base units of `token` (QDT by default: what pays a device's anchoring fees when
   * its mana is short) to `to`, and waits until it is final.
   */
  async fundDevice(to: string, amount: bigint, token: Token = 'QDT'): Promise<FinalTx> {
    checkHex(to, 'device address');
    if (amount <= 0n) throw new MarketError('BAD_ARGUMENT', `amount ${amount}: expected > 0 base units`);
    const sub = await this.submit(
      this.sign('transfer', { to, token, amount, memo: new Uint8Array(0) }, await this.#prepare()),
    );
    // The nonce moving past the transfer is the proof (a transfer leaves no record of its own).
    return this.waitFinal(sub, { keys: [], missing: () => undefined });
  }

  /**
   * The owner's transactions and the transfers to it in the last `blocks` final blocks, newest
   * first. The walk starts from the certified head and follows each block's `prevHash`, so a node
   * can neither invent nor hide a block (BAD_BLOCK).
   */
  async history(blocks = 1000): Promise<OwnerHistory> {
    await this.#reader.proven([stateKey.account(this.address)]);
    const head = (await this.#reader.lightClient()).head;
    let expected = headerId(head);
    const entries: HistoryEntry[] = [];
    const toHeight = head.height;
    let h = head.height;
    for (; h >= 1 && toHeight - h < blocks; h--) {
      const doc = await this.#http.getJson<{ bytes?: unknown }>(`/blocks/${h}`);
      if (typeof doc.bytes !== 'string')
        throw new MarketError('BAD_RESPONSE', `/blocks/${h}: expected the block's bytes as hex`);
      let block: ReturnType<typeof decodeBlock>;
      try {
        block = decodeBlock(fromHex(doc.bytes));
      } catch (err) {
        throw new MarketError('BAD_BLOCK', `/blocks/${h}: does not decode (${(err as Error).message})`);
      }
      const header = block.header.header;
      if (header.height !== h || !bytesEqual(headerId(header), expected))
        throw new MarketError(
          'BAD_BLOCK',
          `/blocks/${h}: not the block the certified head at ${toHeight} chains to (id ${toHex(headerId(header)).slice(0, 16)}..., expected ${toHex(expected).slice(0, 16)}...)`,
        );
      if (!bytesEqual(merkleRoot(block.txs.map((t) => t.id)), header.txRoot))
        throw new MarketError('BAD_BLOCK', `/blocks/${h}: its transactions do not match the header's txRoot`);
      for (const t of [...block.txs].reverse()) {
        const out = t.tx.sender === this.address;
        const incoming = t.tx.kind === 'transfer' && (t.tx.body as TxBodies['transfer']).to === this.address;
        if (out || incoming)
          entries.push({
            height: h,
            timeMs: header.timeMs,
            txId: toHex(t.id),
            kind: t.tx.kind,
            direction: out ? 'out' : 'in',
            sender: t.tx.sender,
            nonce: t.tx.nonce,
            body: t.tx.body,
          });
      }
      expected = header.prevHash;
    }
    return { entries, fromHeight: h + 1, toHeight };
  }

  /** Signs a transaction of the owner with `prep`'s chain id, nonce and fee. */
  sign<K extends TxKind>(
    kind: K,
    body: TxBodies[K],
    prep: { chainId: string; nonce: number; fee: bigint },
  ): SignedTx {
    return signTx(
      {
        chainId: prep.chainId,
        kind,
        sender: this.address,
        nonce: prep.nonce,
        fee: prep.fee,
        body,
      } as UnsignedTx,
      this.#signer,
    );
  }

  /** Posts a signed transaction to the node's mempool. */
  async submit(signed: SignedTx): Promise<SubmittedTx> {
    await this.#http.postCbor('/tx', encodeSignedTx(signed));
    this.#nextNonce = Math.max(this.#nextNonce, signed.tx.nonce + 1);
    return {
      txId: toHex(signed.id),
      kind: signed.tx.kind,
      nonce: signed.tx.nonce,
      fee: signed.tx.fee,
      signed,
    };
  }

  /**
   * Polls the final state until the light client proves the owner's account past the transaction's
   * nonce and `effect` holds there. NOT_APPLIED when the nonce moved on without the effect, TIMEOUT
   * after `timeoutMs`.
   */
  async waitFinal(sub: SubmittedTx, effect: Effect, timeoutMs = this.#finalTimeoutMs): Promise<FinalTx> {
    const end = this.#nowMs() + timeoutMs;
    const acct = stateKey.account(this.address);
    for (;;) {
      const s = await this.#reader.proven([acct, ...effect.keys]);
      const nonce = this.#account(s)?.nonce ?? 0;
      if (nonce > sub.nonce) {
        const missing = effect.missing(s.values);
        if (missing === undefined) return { ...sub, height: s.height };
        throw new MarketError(
          'NOT_APPLIED',
          `${sub.kind} ${sub.txId.slice(0, 16)}... (nonce ${sub.nonce}): the final state at height ${s.height} has the account past that nonce but not ${missing}`,
        );
      }
      if (this.#nowMs() >= end)
        throw new MarketError(
          'TIMEOUT',
          `${sub.kind} ${sub.txId.slice(0, 16)}... (nonce ${sub.nonce}) is not final after ${timeoutMs} ms (final height ${s.height}, account nonce ${nonce})`,
        );
      await this.#sleep(this.#pollMs);
    }
  }

  /** The chain id, the next nonce and the fee this account's next transaction needs. */
  async #prepare(): Promise<{ chainId: string; nonce: number; fee: bigint }> {
    const [status, free] = await Promise.all([
      this.#chainId === undefined
        ? this.#http.getJson<{ chainId?: unknown }>('/status')
        : Promise.resolve({ chainId: this.#chainId }),
      this.#http.getJson<{ nonce?: unknown; mana?: unknown; manaPerTx?: unknown; minFee?: unknown }>(
        `/accounts/${this.address}/next-free-tx`,
      ),
    ]);
    if (typeof status.chainId !== 'string')
      throw new MarketError('BAD_RESPONSE', '/status: expected a chainId string');
    this.#chainId = status.chainId;
    if (
      typeof free.nonce !== 'number' ||
      typeof free.mana !== 'string' ||
      typeof free.manaPerTx !== 'string' ||
      typeof free.minFee !== 'string'
    )
      throw new MarketError(
        'BAD_RESPONSE',
        `/accounts/${this.address}/next-free-tx: expected nonce (number), mana, manaPerTx and minFee (decimal strings)`,
      );
    const nonce = Math.max(free.nonce, this.#nextNonce);
    const fee = BigInt(free.mana) < BigInt(free.manaPerTx) ? BigInt(free.minFee) : 0n;
    return { chainId: status.chainId, nonce, fee };
  }

  async #ownVehicle(vehicleId: string): Promise<Vehicle> {
    const v = await this.vehicle(vehicleId);
    if (v === undefined)
      throw new MarketError(
        'MISSING_RECORD',
        `vehicle '${vehicleId}' is not registered in the final state (register it first: qood owner register-vehicle)`,
      );
    if (v.owner !== this.address)
      throw new MarketError(
        'NOT_OWNER',
        `vehicle '${vehicleId}' is registered to ${v.owner.slice(0, 16)}..., not to this owner key ${this.address.slice(0, 16)}...`,
      );
    return v;
  }

  #account(s: Proven): Account | undefined {
    const v = s.values.get(stateKey.account(this.address));
    return v === null || v === undefined ? undefined : decodeRecord(decodeAccount, v, 'account');
  }
}

function checkHex(v: string, what: string): void {
  if (!HEX32.test(v))
    throw new MarketError('BAD_ARGUMENT', `${what} '${v}': expected 64 lowercase hex digits`);
}
