/**
 * `SqlitePermissionStore`: the permissions' state in the agent's database file (schema version 2),
 * on its own connection beside the chunk store's. Every method is one transaction; the audit table
 * refuses UPDATE and DELETE by trigger, so the log is append-only even for a careless query.
 */
import {
  asBlob,
  type SqliteDatabase,
  type SqliteStatement,
  type SqliteSynchronous,
} from '../../process/index.js';
import {
  type AuditEntry,
  type AuditQuery,
  type AuditRow,
  DEVICE_TX_NONCE_CURSOR,
  type GrantRow,
  type PermissionStore,
  type TxBuilder,
} from './permission-store.js';
import { openStoreDatabase } from './schema.js';
import { StoreError } from './types.js';

export interface SqlitePermissionStoreOptions {
  readonly path: string;
  readonly synchronous?: SqliteSynchronous;
}

interface GrantDbRow {
  id: string;
  bundle: Buffer;
  received_ms: number;
  revoked_ms: number | null;
  revoked_by: string | null;
  chain_paid: string | null;
  chain_to_ms: number | null;
}

interface AuditDbRow {
  seq: number;
  at_ms: number;
  kind: AuditRow['kind'];
  grant_id: string | null;
  actor: string;
  command: string;
  args: string;
  nonce: string;
  message_id: string;
  outcome: string;
  reason: string;
  detail: string;
  frames: number;
}

const auditRow = (r: AuditDbRow): AuditRow => ({
  seq: r.seq,
  atMs: r.at_ms,
  kind: r.kind,
  grantId: r.grant_id,
  actor: r.actor,
  command: r.command,
  args: r.args,
  nonce: r.nonce,
  messageId: r.message_id,
  outcome: r.outcome,
  reason: r.reason,
  detail: r.detail,
  framesWritten: r.frames,
});

export class SqlitePermissionStore implements PermissionStore {
  readonly path: string;
  readonly #db: SqliteDatabase;
  readonly #s: Record<string, SqliteStatement>;
  #closed = false;

  constructor(options: SqlitePermissionStoreOptions) {
    this.path = options.path;
    this.#db = openStoreDatabase({
      path: options.path,
      synchronous: options.synchronous ?? 'full',
      skipQuickCheck: true,
    }).db;
    const db = this.#db;
    this.#s = {
      putGrant: db.prepare(
        'INSERT INTO grants (id, bundle, received_ms, revoked_ms, revoked_by, chain_paid, chain_to_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
      ),
      grants: db.prepare('SELECT * FROM grants ORDER BY received_ms, id'),
      revoke: db.prepare(
        'UPDATE grants SET revoked_ms = ?, revoked_by = ? WHERE id = ? AND revoked_ms IS NULL',
      ),
      chain: db.prepare('UPDATE grants SET chain_paid = ?, chain_to_ms = ? WHERE id = ?'),
      audit: db.prepare(
        'INSERT INTO audit (at_ms, kind, grant_id, actor, command, args, nonce, message_id, outcome, reason, detail, frames) VALUES (@atMs, @kind, @grantId, @actor, @command, @args, @nonce, @messageId, @outcome, @reason, @detail, @framesWritten)',
      ),
      auditAll: db.prepare(
        'SELECT * FROM (SELECT * FROM audit WHERE seq > ? ORDER BY seq DESC LIMIT ?) ORDER BY seq',
      ),
      auditGrant: db.prepare(
        'SELECT * FROM (SELECT * FROM audit WHERE grant_id = ? AND seq > ? ORDER BY seq DESC LIMIT ?) ORDER BY seq',
      ),
      nonce: db.prepare(
        'INSERT INTO nonces (grant_id, nonce, issued_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      prune: db.prepare('DELETE FROM nonces WHERE issued_ms < ?'),
      executions: db
        .prepare(
          "SELECT at_ms FROM audit WHERE grant_id = ? AND kind = 'control' AND outcome = 'executed' AND at_ms >= ? ORDER BY seq",
        )
        .pluck(),
      enqueueTx: db.prepare('INSERT INTO outbox (kind, bytes, created_ms) VALUES (?, ?, ?)'),
      cursor: db.prepare('SELECT value FROM cursors WHERE name = ?').pluck(),
      setCursor: db.prepare(
        'INSERT INTO cursors (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
      ),
    };
  }

  putGrant(row: GrantRow, audit: AuditEntry): boolean {
    this.#open();
    return this.#db.transaction(() => {
      const r = this.#s.putGrant!.run(
        row.id,
        asBlob(row.bundle),
        row.receivedMs,
        row.revokedMs,
        row.revokedBy,
        row.chainPaid === null ? null : row.chainPaid.toString(),
        row.chainToMs,
      );
      if (r.changes === 0) return false;
      this.#s.audit!.run(audit);
      return true;
    })();
  }

  grants(): GrantRow[] {
    this.#open();
    return (this.#s.grants!.all() as GrantDbRow[]).map((r) => ({
      id: r.id,
      bundle: new Uint8Array(r.bundle),
      receivedMs: r.received_ms,
      revokedMs: r.revoked_ms,
      revokedBy: r.revoked_by,
      chainPaid: r.chain_paid === null ? null : BigInt(r.chain_paid),
      chainToMs: r.chain_to_ms,
    }));
  }

  revokeGrant(
    id: string,
    atMs: number,
    by: string,
    audit: AuditEntry,
    tx?: { kind: string; bytes: Uint8Array },
  ): boolean {
    this.#open();
    return this.#db.transaction(() => {
      if (this.#s.revoke!.run(atMs, by, id).changes === 0) return false;
      this.#s.audit!.run(audit);
      if (tx !== undefined) this.#s.enqueueTx!.run(tx.kind, asBlob(tx.bytes), atMs);
      return true;
    })();
  }

  setChainStatus(id: string, paid: bigint, toMs: number): void {
    this.#open();
    this.#s.chain!.run(paid.toString(), toMs, id);
  }

  appendAudit(entry: AuditEntry, tx?: TxBuilder): number {
    this.#open();
    return this.#db.transaction(() => {
      const seq = Number(this.#s.audit!.run(entry).lastInsertRowid);
      if (tx !== undefined) {
        const nonce = Number((this.#s.cursor!.get(DEVICE_TX_NONCE_CURSOR) as string | undefined) ?? '0');
        const t = tx(nonce);
        this.#s.enqueueTx!.run(t.kind, asBlob(t.bytes), entry.atMs);
        this.#s.setCursor!.run(DEVICE_TX_NONCE_CURSOR, String(nonce + 1));
      }
      return seq;
    })();
  }

  audit(q: AuditQuery): AuditRow[] {
    this.#open();
    const rows =
      q.grantId === undefined
        ? this.#s.auditAll!.all(q.afterSeq ?? 0, q.limit)
        : this.#s.auditGrant!.all(q.grantId, q.afterSeq ?? 0, q.limit);
    return (rows as AuditDbRow[]).map(auditRow);
  }

  recordNonce(grantId: string, nonce: string, issuedMs: number): boolean {
    this.#open();
    return this.#s.nonce!.run(grantId, nonce, issuedMs).changes === 1;
  }

  pruneNonces(beforeMs: number): number {
    this.#open();
    return this.#s.prune!.run(beforeMs).changes;
  }

  executionsSince(grantId: string, sinceMs: number): number[] {
    this.#open();
    return this.#s.executions!.all(grantId, sinceMs) as number[];
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #open(): void {
    if (this.#closed) throw new StoreError('CLOSED', this.path, 'the permission store is closed');
  }
}
