/**
 * `GrantRegistry`: the grants this device honours, in memory and in the permission store. Intake
 * (from MQTT or the local CLI) verifies the owner's signature against the binding before storing;
 * at start every stored bundle is verified again, so a store edited behind the agent's back grants
 * nothing. A revocation updates memory and the store synchronously and tells the listeners at once
 * (the listener hub drops the grant's stream, the control queue refuses its waiting commands), so
 * it has taken effect when `revoke` returns.
 *
 * Revocations are tombstones by grant id, whether or not the grant is held (issue 14, attack 2):
 * the owner may revoke a grant whose bundle is still on its way (the downlink delivers in any
 * order; a store moved aside as damaged holds no grants until the broker sends them again), and
 * that bundle must not install as active when it comes. Every install checks the tombstones.
 */
import { chainVehicleId, paidEndMs, toHex } from '../../chain/index.js';
import type { Logger } from '../../process/index.js';
import type { AuditEntry, GrantRow, PermissionStore } from '../store/index.js';
import { GrantError, type GrantRefusalCode, type VerifiedGrant, verifyGrantBundle } from './grant.js';

/** A grant as the device holds it. */
export interface HeldGrant extends VerifiedGrant {
  readonly receivedMs: number;
  readonly revokedMs: number | null;
  readonly revokedBy: string | null;
  readonly chainPaid: bigint | null;
  readonly chainToMs: number | null;
}

/** A grant's state at a time. */
export type GrantState = 'active' | 'pending' | 'expired' | 'revoked' | 'unpaid';

/**
 * The end of a grant's validity: the chain's (extended by payments) when known, but never past
 * what the owner signed (issue 14, attack 3): the chain record is clamped to the grant's latest end
 * and to the time its recorded payment buys at the owner's price, both from the owner-signed grant
 * the device holds. A proven record made under an older rule, or by a chain gone wrong, that says
 * "paid 1 unit, valid until 2096" thus ends where the owner's terms say. Only what was paid beyond
 * a listen grant's entry payment (`terms.minPaid`, owed for the data to flow at all) buys time:
 * counting the entry too gave a grantee `minPaid` worth of free extension.
 */
export function grantEndMs(g: HeldGrant): number {
  if (g.chainToMs === null) return g.body.toMs;
  // The larger of the terms' entry and the one the owner signed into the grant's extension terms
  // (issueGrant makes them equal; a grant that does not counts the larger out).
  const signedEntry = g.body.extension?.entryPaid ?? 0n;
  const termsEntry = g.body.kind === 'listen' ? g.terms.minPaid : 0n;
  const entry = termsEntry > signedEntry ? termsEntry : signedEntry;
  return Math.min(g.chainToMs, paidEndMs(g.body, g.chainPaid ?? 0n, entry));
}

/** The state of a grant at `nowMs`. */
export function grantState(g: HeldGrant, nowMs: number): GrantState {
  if (g.revokedMs !== null) return 'revoked';
  if (nowMs < g.body.fromMs) return 'pending';
  if (nowMs >= grantEndMs(g)) return 'expired';
  if (g.body.kind === 'listen' && g.terms.minPaid > 0n && (g.chainPaid ?? 0n) < g.terms.minPaid)
    return 'unpaid';
  return 'active';
}

export interface GrantRegistryOptions {
  readonly store: PermissionStore;
  readonly ownerPublicKey: Uint8Array;
  readonly vehicleId: string;
  /** Wall clock, ms since the epoch. */
  readonly nowMs: () => number;
  readonly logger: Logger;
}

/** The result of an intake. */
export type InstallResult =
  | { readonly ok: true; readonly grant: HeldGrant; readonly duplicate: boolean }
  | { readonly ok: false; readonly code: GrantRefusalCode; readonly message: string };

/** What the chain proved of a grant (a record the light client checked). */
export interface ChainGrantRecord {
  /** The grant's vehicle (chain id, hex); a revocation of another vehicle's grant is ignored. */
  readonly vehicle?: string;
  readonly revoked: boolean;
  readonly paid: bigint;
  readonly toMs: number;
}

export class GrantRegistry {
  readonly #o: GrantRegistryOptions;
  readonly #grants = new Map<string, HeldGrant>();
  /** Tombstones: every revoked grant id, held or not, with when and by whom. */
  readonly #revoked = new Map<string, { atMs: number; by: string }>();
  /** This vehicle's chain id (hex). */
  readonly chainVehicle: string;
  readonly #revokeListeners = new Set<(g: HeldGrant) => void>();
  /** Stored rows that no longer verify (skipped at start). */
  readonly rejectedAtStart: number;

  constructor(options: GrantRegistryOptions) {
    this.#o = options;
    this.chainVehicle = chainVehicleId(options.vehicleId);
    for (const t of options.store.revocations()) this.#revoked.set(t.id, { atMs: t.atMs, by: t.by });
    let rejected = 0;
    for (const row of options.store.grants()) {
      try {
        const v = verifyGrantBundle(row.bundle, options, Number.NEGATIVE_INFINITY);
        const state = rowState(row);
        // The tombstone wins over a row that does not say revoked (a crash between the two writes).
        const t = this.#revoked.get(v.id);
        this.#grants.set(
          v.id,
          t === undefined || state.revokedMs !== null
            ? { ...v, ...state }
            : { ...v, ...state, revokedMs: t.atMs, revokedBy: t.by },
        );
      } catch (err) {
        rejected++;
        options.logger.warn(
          { grant: row.id, err: (err as Error).message },
          'stored grant does not verify; ignored',
        );
      }
    }
    this.rejectedAtStart = rejected;
  }

  /** Verifies and stores a bundle. `source` says where it came from (audit). */
  install(bundle: Uint8Array, source: string): InstallResult {
    const nowMs = this.#o.nowMs();
    let v: VerifiedGrant;
    try {
      v = verifyGrantBundle(bundle, this.#o, nowMs);
    } catch (err) {
      if (err instanceof GrantError) return { ok: false, code: err.code, message: err.message };
      throw err;
    }
    const existing = this.#grants.get(v.id);
    if (existing !== undefined) return { ok: true, grant: existing, duplicate: true };
    // Issue 14, attack 2: a grant the owner revoked before it arrived (or whose row was lost with
    // a store moved aside) is refused here, for bundles from the downlink, the local API and any
    // other intake alike.
    const tomb = this.#revoked.get(v.id);
    if (tomb !== undefined) {
      this.#o.logger.warn({ grant: v.id, source, revokedBy: tomb.by }, 'revoked grant refused at install');
      return {
        ok: false,
        code: 'REVOKED',
        message: `grant ${v.id} was revoked at ${new Date(tomb.atMs).toISOString()} by ${tomb.by}`,
      };
    }
    const held: HeldGrant = {
      ...v,
      receivedMs: nowMs,
      revokedMs: null,
      revokedBy: null,
      chainPaid: null,
      chainToMs: null,
    };
    this.#o.store.putGrant(
      {
        id: v.id,
        bundle,
        receivedMs: nowMs,
        revokedMs: null,
        revokedBy: null,
        chainPaid: null,
        chainToMs: null,
      },
      grantAudit(held, nowMs, source),
    );
    this.#grants.set(v.id, held);
    this.#o.logger.info(
      { grant: v.id, kind: v.body.kind, grantee: v.body.grantee, source },
      'grant installed',
    );
    return { ok: true, grant: held, duplicate: false };
  }

  get(id: string): HeldGrant | undefined {
    return this.#grants.get(id);
  }

  /** The tombstone of grant `id`, held or not. */
  revocation(id: string): { readonly atMs: number; readonly by: string } | undefined {
    return this.#revoked.get(id);
  }

  /** Every grant, oldest received first. */
  list(): HeldGrant[] {
    return [...this.#grants.values()];
  }

  /** Called synchronously inside `revoke`, after the store has the revocation. */
  onRevoke(listener: (g: HeldGrant) => void): () => void {
    this.#revokeListeners.add(listener);
    return () => this.#revokeListeners.delete(listener);
  }

  /**
   * Revokes grant `id` (64 hex digits) now, held or not: the tombstone and the store (with `tx`
   * queued in the same commit), memory, then the listeners. Returns false when it is already revoked.
   */
  revoke(id: string, by: string, tx?: { kind: string; bytes: Uint8Array }, detail = ''): boolean {
    const g = this.#grants.get(id);
    if (this.#revoked.has(id) || (g !== undefined && g.revokedMs !== null)) return false;
    const nowMs = this.#o.nowMs();
    const audit: AuditEntry = {
      atMs: nowMs,
      kind: 'revoke',
      grantId: id,
      actor: by,
      command: '',
      args: '{}',
      nonce: '',
      messageId: id,
      outcome: 'revoked',
      reason: 'OK',
      detail:
        detail ||
        `revoked by ${by}${g === undefined ? ' before the device received the grant' : ''}${tx === undefined ? '' : `; ${tx.kind} queued for the chain`}`,
      framesWritten: 0,
    };
    if (!this.#o.store.revokeGrant(id, nowMs, by, audit, tx)) return false;
    this.#revoked.set(id, { atMs: nowMs, by });
    if (g === undefined) {
      this.#o.logger.info({ grant: id, by }, 'grant revoked before it arrived (kept as a tombstone)');
      return true;
    }
    const revoked = { ...g, revokedMs: nowMs, revokedBy: by };
    this.#grants.set(id, revoked);
    for (const l of this.#revokeListeners) l(revoked);
    this.#o.logger.info({ grant: id, by }, 'grant revoked');
    return true;
  }

  /**
   * Applies the chain's record of a grant (from a proof the light client checked): a revocation
   * takes effect as a local one does; payment and the extended end are kept. A revoked record of
   * a grant the device does not hold becomes a tombstone when it names this vehicle (so revocations
   * lost with the device's files are learnt again from the chain); other vehicles' are ignored, so
   * a node cannot fill the tombstone file with proofs of grants that are not ours.
   */
  applyChainRecord(id: string, record: ChainGrantRecord): void {
    const g = this.#grants.get(id);
    if (g === undefined) {
      if (record.revoked && record.vehicle === this.chainVehicle) this.revoke(id, 'chain');
      return;
    }
    this.#o.store.setChainStatus(id, record.paid, record.toMs);
    this.#grants.set(id, { ...g, chainPaid: record.paid, chainToMs: record.toMs });
    if (record.revoked) this.revoke(id, 'chain');
  }
}

function rowState(row: GrantRow) {
  return {
    receivedMs: row.receivedMs,
    revokedMs: row.revokedMs,
    revokedBy: row.revokedBy,
    chainPaid: row.chainPaid,
    chainToMs: row.chainToMs,
  };
}

function grantAudit(g: HeldGrant, nowMs: number, source: string): AuditEntry {
  return {
    atMs: nowMs,
    kind: 'grant',
    grantId: g.id,
    actor: g.body.grantee,
    command: g.body.kind,
    args: JSON.stringify({ scope: g.body.scope, fromMs: g.body.fromMs, toMs: g.body.toMs }),
    nonce: '',
    messageId: toHex(g.body.termsHash),
    outcome: 'accepted',
    reason: 'OK',
    detail: `installed from ${source}`,
    framesWritten: 0,
  };
}
