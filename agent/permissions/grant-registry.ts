/**
 * `GrantRegistry`: the grants this device honours, in memory and in the permission store. Intake
 * (from MQTT or the local CLI) verifies the owner's signature against the binding before storing;
 * at start every stored bundle is verified again, so a store edited behind the agent's back grants
 * nothing. A revocation updates memory and the store synchronously and tells the listeners at once
 * (the listener hub drops the grant's stream, the control queue refuses its waiting commands), so
 * it has taken effect when `revoke` returns.
 */
import { toHex } from '../../chain/index.js';
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

/** The end of a grant's validity: the chain's (extended by payments) when known. */
export function grantEndMs(g: HeldGrant): number {
  return g.chainToMs ?? g.body.toMs;
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

export class GrantRegistry {
  readonly #o: GrantRegistryOptions;
  readonly #grants = new Map<string, HeldGrant>();
  readonly #revokeListeners = new Set<(g: HeldGrant) => void>();
  /** Stored rows that no longer verify (skipped at start). */
  readonly rejectedAtStart: number;

  constructor(options: GrantRegistryOptions) {
    this.#o = options;
    let rejected = 0;
    for (const row of options.store.grants()) {
      try {
        const v = verifyGrantBundle(row.bundle, options, Number.NEGATIVE_INFINITY);
        this.#grants.set(v.id, { ...v, ...rowState(row) });
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
   * Revokes a grant now: store (with `tx` queued in the same commit) and memory, then the listeners.
   * Returns false when the grant is unknown or already revoked.
   */
  revoke(id: string, by: string, tx?: { kind: string; bytes: Uint8Array }, detail = ''): boolean {
    const g = this.#grants.get(id);
    if (g === undefined || g.revokedMs !== null) return false;
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
      detail: detail || `revoked by ${by}${tx === undefined ? '' : `; ${tx.kind} queued for the chain`}`,
      framesWritten: 0,
    };
    if (!this.#o.store.revokeGrant(id, nowMs, by, audit, tx)) return false;
    const revoked = { ...g, revokedMs: nowMs, revokedBy: by };
    this.#grants.set(id, revoked);
    for (const l of this.#revokeListeners) l(revoked);
    this.#o.logger.info({ grant: id, by }, 'grant revoked');
    return true;
  }

  /**
   * Applies the chain's record of a grant (from a proof the light client checked): a revocation
   * takes effect as a local one does; payment and the extended end are kept.
   */
  applyChainRecord(id: string, record: { revoked: boolean; paid: bigint; toMs: number }): void {
    const g = this.#grants.get(id);
    if (g === undefined) return;
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
