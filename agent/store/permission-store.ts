/**
 * The permissions' durable state: grants as received (bundles, re-verified at every start), their
 * revocation and chain status, the append-only audit log of every control and pull attempt and
 * every grant change, the window of nonces seen, and the chain transactions those events make
 * (queued in the same outbox as descriptors). `SqlitePermissionStore` keeps it in the agent's
 * database file; `MemoryPermissionStore` is the double for unit tests.
 *
 * An execution's audit row and its `controlExec` transaction are written in one transaction, so
 * after a crash the chain hears of exactly the executions the audit log shows.
 *
 * Revocations are also kept as tombstones by grant id, whether or not the device holds the grant
 * (issue 14, attack 2: a revocation that arrives before its grant must refuse the grant when it
 * comes). `SqlitePermissionStore` keeps them in a small file of their own beside the agent's
 * database, so they are not lost when a damaged database is moved aside with everything in it.
 *
 * The audit log is a hash chain (issue 14, attack 10): each row's hash covers the previous row's
 * hash and the row, from an anchor. It is bounded: past its bound the oldest rows are deleted and
 * the anchor becomes the hash of the last deleted row, so `verifyAudit` still proves the rows that
 * remain unbroken and unaltered from there.
 */
import { taggedHash, toHex } from '../../chain/index.js';

/** A stored grant. */
export interface GrantRow {
  /** Grant transaction id, hex. */
  readonly id: string;
  /** The bundle as received (chain tx + terms). */
  readonly bundle: Uint8Array;
  readonly receivedMs: number;
  readonly revokedMs: number | null;
  /** `owner` (local API), `owner-tx` (a signed revoke over MQTT) or `chain` (a proven chain record). */
  readonly revokedBy: string | null;
  /** Chain status, when known: QDD paid and the end of validity (extended by payments). */
  readonly chainPaid: bigint | null;
  readonly chainToMs: number | null;
}

/** A revocation kept by grant id: the tombstone every install of that grant is checked against. */
export interface RevocationRow {
  /** Grant transaction id, hex. */
  readonly id: string;
  readonly atMs: number;
  /** `owner`, `owner-tx` or `chain` (as GrantRow.revokedBy). */
  readonly by: string;
}

/** What the audit log records (`rotate`: the log's own rotation, see verifyAudit). */
export const AUDIT_KINDS = ['control', 'pull', 'grant', 'revoke', 'rotate'] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

/** One audit entry before it has its sequence number. */
export interface AuditEntry {
  readonly atMs: number;
  readonly kind: AuditKind;
  /** Null when the message did not name a grant that could be read. */
  readonly grantId: string | null;
  /** Who: the signer's public key (hex), `owner`, `chain`. */
  readonly actor: string;
  readonly command: string;
  /** Arguments as JSON. */
  readonly args: string;
  readonly nonce: string;
  /** Command id (the signed hash) or SHA-256 of unreadable bytes. */
  readonly messageId: string;
  /** `executed`, `refused`, `failed`, `accepted` (grant, pull), `revoked`. */
  readonly outcome: string;
  /** `OK` or a refusal code. */
  readonly reason: string;
  readonly detail: string;
  readonly framesWritten: number;
}

export interface AuditRow extends AuditEntry {
  readonly seq: number;
}

/** A query of the audit log: newest last, at most `limit`, after `afterSeq`, for one grant. */
export interface AuditQuery {
  readonly grantId?: string;
  readonly afterSeq?: number;
  readonly limit: number;
}

/** The anchor of an empty log: 32 zero bytes, hex. */
export const AUDIT_GENESIS = '00'.repeat(32);

/**
 * A row's place in the audit chain: taggedHash("qood/audit/v1", prev || JSON of the row's fields
 * with its seq), hex. JSON of strings and numbers in a fixed order is deterministic.
 */
export function auditHash(prevHex: string, row: AuditRow): string {
  const fields = [
    row.seq,
    row.atMs,
    row.kind,
    row.grantId,
    row.actor,
    row.command,
    row.args,
    row.nonce,
    row.messageId,
    row.outcome,
    row.reason,
    row.detail,
    row.framesWritten,
  ];
  return toHex(taggedHash('qood/audit/v1', Buffer.from(prevHex, 'hex'), Buffer.from(JSON.stringify(fields))));
}

/** What checking the audit chain found. */
export interface AuditVerification {
  /** True when every remaining row's hash follows from the anchor. */
  readonly ok: boolean;
  /** Rows checked. */
  readonly rows: number;
  /** The last deleted row's seq (0 when nothing was rotated away) and hash (the chain's anchor). */
  readonly anchorSeq: number;
  readonly anchorHash: string;
  /** The newest row's hash (what an owner may note down to check the log later). */
  readonly headHash: string;
  /** The first row that does not follow, and why. */
  readonly badSeq?: number;
  readonly problem?: string;
}

/** Checks rows (oldest first) against an anchor. */
export function verifyAuditRows(
  rows: Iterable<AuditRow & { readonly hash: string }>,
  anchorSeq: number,
  anchorHash: string,
): AuditVerification {
  let prev = anchorHash;
  let expectSeq = anchorSeq + 1;
  let n = 0;
  for (const r of rows) {
    n++;
    const bad = (problem: string): AuditVerification => ({
      ok: false,
      rows: n,
      anchorSeq,
      anchorHash,
      headHash: prev,
      badSeq: r.seq,
      problem,
    });
    if (r.seq !== expectSeq) return bad(`row ${expectSeq} is missing (found ${r.seq})`);
    if (auditHash(prev, r) !== r.hash)
      return bad(`row ${r.seq} does not match its hash: altered, or a row before it was`);
    prev = r.hash;
    expectSeq++;
  }
  return { ok: true, rows: n, anchorSeq, anchorHash, headHash: prev };
}

/** A chain transaction to queue, built with the device's next transaction nonce. */
export type TxBuilder = (deviceTxNonce: number) => { readonly kind: string; readonly bytes: Uint8Array };

export interface PermissionStore {
  /** Stores a grant (a second copy of the same id keeps the first). Returns false when already there. */
  putGrant(row: GrantRow, audit: AuditEntry): boolean;
  grants(): GrantRow[];
  /**
   * Revokes grant `id`, held or not: keeps its tombstone durably first, then marks the grant row
   * (when there is one), appends the audit entry and queues `tx` in one commit. False when the
   * grant already has a tombstone (nothing else is written then).
   */
  revokeGrant(
    id: string,
    atMs: number,
    by: string,
    audit: AuditEntry,
    tx?: { kind: string; bytes: Uint8Array },
  ): boolean;
  /** Every tombstone, oldest first. */
  revocations(): RevocationRow[];
  /** Records the chain's view of a grant. */
  setChainStatus(id: string, paid: bigint, toMs: number): void;
  /** Appends an audit entry, with the transaction `tx` builds queued in the same commit. */
  appendAudit(entry: AuditEntry, tx?: TxBuilder): number;
  audit(query: AuditQuery): AuditRow[];
  /**
   * Records a nonce and raises the grant's high-water mark of issue times; false when (grant,
   * nonce) was seen before, or (with `windowMs`) when `issuedMs` is more than `windowMs` before the
   * highest issue time this grant's requests have had. The mark is kept as long as the store, so a
   * nonce the window forgot is still refused after the wall clock stepped back or a restart
   * (issue 14, attack 6: a captured command used to replay once its nonce had been pruned).
   */
  recordNonce(grantId: string, nonce: string, issuedMs: number, windowMs?: number): boolean;
  /**
   * Forgets nonces issued more than `windowMs` before their grant's high-water mark: recordNonce
   * refuses those by the mark. Independent of the wall clock. Returns how many were forgotten.
   */
  pruneNonces(windowMs: number): number;
  /**
   * The number of a new listener session: max(`nowMs`, the last one + 1), kept, so sessions are
   * ordered even when the clock stepped back (grantees' readers refuse older sessions).
   */
  nextListenSession(nowMs: number): number;
  /** The saved floor of the device's time, ms (DeviceClock), if any. */
  clockFloor(): number | undefined;
  /** Saves the floor of the device's time, ms. */
  saveClockFloor(ms: number): void;
  /** Checks the audit log's hash chain from its anchor. */
  verifyAudit(): AuditVerification;
  /** Times of the grant's executed commands at or after `sinceMs`, oldest first. */
  executionsSince(grantId: string, sinceMs: number): number[];
  close(): void;
}

/** The cursor that holds the device's next chain transaction nonce. */
export const DEVICE_TX_NONCE_CURSOR = 'permissions.deviceTxNonce';

/** The cursor that holds the floor of the device's time (DeviceClock), ms. */
export const CLOCK_FLOOR_CURSOR = 'permissions.clockFloorMs';

/** The cursor that holds the last listener session number started. */
export const LISTEN_SESSION_CURSOR = 'permissions.listenSession';

/** The in-memory double (also the outbox it writes to, for assertions). */
export class MemoryPermissionStore implements PermissionStore {
  readonly #grants = new Map<string, GrantRow>();
  readonly #revocations = new Map<string, RevocationRow>();
  readonly #audit: (AuditRow & { hash: string })[] = [];
  readonly #nonces = new Map<string, { grantId: string; issuedMs: number }>();
  readonly #marks = new Map<string, number>();
  #floor: number | undefined;
  readonly outbox: { kind: string; bytes: Uint8Array }[] = [];
  #txNonce = 0;

  putGrant(row: GrantRow, audit: AuditEntry): boolean {
    if (this.#grants.has(row.id)) return false;
    this.#grants.set(row.id, row);
    this.appendAudit(audit);
    return true;
  }

  grants(): GrantRow[] {
    return [...this.#grants.values()];
  }

  revokeGrant(
    id: string,
    atMs: number,
    by: string,
    audit: AuditEntry,
    tx?: { kind: string; bytes: Uint8Array },
  ): boolean {
    if (this.#revocations.has(id)) return false;
    this.#revocations.set(id, { id, atMs, by });
    const g = this.#grants.get(id);
    if (g !== undefined && g.revokedMs === null)
      this.#grants.set(id, { ...g, revokedMs: atMs, revokedBy: by });
    this.appendAudit(audit);
    if (tx !== undefined) this.outbox.push(tx);
    return true;
  }

  revocations(): RevocationRow[] {
    return [...this.#revocations.values()];
  }

  setChainStatus(id: string, paid: bigint, toMs: number): void {
    const g = this.#grants.get(id);
    if (g !== undefined) this.#grants.set(id, { ...g, chainPaid: paid, chainToMs: toMs });
  }

  appendAudit(entry: AuditEntry, tx?: TxBuilder): number {
    const seq = this.#audit.length + 1;
    const row = { ...entry, seq };
    this.#audit.push({ ...row, hash: auditHash(this.#audit.at(-1)?.hash ?? AUDIT_GENESIS, row) });
    if (tx !== undefined) this.outbox.push(tx(this.#txNonce++));
    return seq;
  }

  audit(q: AuditQuery): AuditRow[] {
    const rows = this.#audit.filter(
      (r) => (q.grantId === undefined || r.grantId === q.grantId) && r.seq > (q.afterSeq ?? 0),
    );
    return rows.slice(-q.limit).map(({ hash: _, ...r }) => r);
  }

  verifyAudit(): AuditVerification {
    return verifyAuditRows(this.#audit, 0, AUDIT_GENESIS);
  }

  recordNonce(grantId: string, nonce: string, issuedMs: number, windowMs?: number): boolean {
    const mark = this.#marks.get(grantId);
    if (windowMs !== undefined && mark !== undefined && issuedMs < mark - windowMs) return false;
    const k = `${grantId}/${nonce}`;
    if (this.#nonces.has(k)) return false;
    this.#nonces.set(k, { grantId, issuedMs });
    if (mark === undefined || issuedMs > mark) this.#marks.set(grantId, issuedMs);
    return true;
  }

  pruneNonces(windowMs: number): number {
    let n = 0;
    for (const [k, t] of this.#nonces)
      if (t.issuedMs < (this.#marks.get(t.grantId) ?? Number.NEGATIVE_INFINITY) - windowMs) {
        this.#nonces.delete(k);
        n++;
      }
    return n;
  }

  #lastSession = 0;

  nextListenSession(nowMs: number): number {
    this.#lastSession = Math.max(Math.floor(nowMs), this.#lastSession + 1);
    return this.#lastSession;
  }

  clockFloor(): number | undefined {
    return this.#floor;
  }

  saveClockFloor(ms: number): void {
    this.#floor = ms;
  }

  executionsSince(grantId: string, sinceMs: number): number[] {
    return this.#audit
      .filter(
        (r) => r.grantId === grantId && r.kind === 'control' && r.outcome === 'executed' && r.atMs >= sinceMs,
      )
      .map((r) => r.atMs);
  }

  close(): void {}
}
