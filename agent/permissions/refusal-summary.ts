/**
 * `RefusalSummary`: refusals of messages that do not prove a grantee sent them, counted per window
 * instead of audited one by one (issue 14, attack 10: every message on any `control/+/cmd` topic
 * wrote an audit row with a full fsync, so 3,000 garbage messages took 5.1 MB of a disk nobody
 * could reclaim).
 *
 * Unauthenticated: undecodable or oversized bytes, a command naming another grant than its topic,
 * an unknown grant, a signature that does not verify, or one that verifies under a key other than
 * the grantee's (anyone can sign with a key of their own). Anyone on the broker can send these, so
 * they may cost a counter, never a row each. Everything a grantee signed is still audited one by
 * one by the caller.
 *
 * A window is `windowMs` on the monotonic clock, per kind (control, pull) and per grant: the grant
 * the topic names when the device holds it, one shared bucket otherwise (so an attacker who varies
 * the topic still fills one bucket). When a window has passed, its bucket becomes one audit row
 * (outcome `summarised`; args: count, per-reason counts, first and last time; reason: the first
 * refusal's code; detail: the first and last refusal). Buckets are written when a later message
 * comes, at `flush` (the owner's audit query, shutdown), never more than one row per bucket and
 * window. A crash loses at most the current window's counts, by design.
 */
import type { AuditEntry } from '../store/index.js';
import type { Refusal, RefusalCode } from './checks.js';

/** The refusal codes of messages that do not prove a grantee sent them. */
export const UNAUTHENTICATED_CODES: ReadonlySet<RefusalCode> = new Set<RefusalCode>([
  'OVERSIZED',
  'MALFORMED',
  'TOPIC_MISMATCH',
  'UNKNOWN_GRANT',
  'BAD_SIGNATURE',
  'WRONG_GRANTEE',
]);

/** The default window: one row per minute per grant at most. */
export const SUMMARY_WINDOW_MS = 60_000;

interface Bucket {
  readonly kind: 'control' | 'pull';
  readonly grantId: string | null;
  readonly openedMono: number;
  readonly firstMs: number;
  lastMs: number;
  count: number;
  readonly byReason: Map<string, number>;
  readonly first: Refusal;
  last: Refusal;
  lastMessageId: string;
}

export interface RefusalSummaryOptions {
  /** Writes a summary row (PermissionStore.appendAudit). */
  readonly append: (entry: AuditEntry) => void;
  /** Monotonic clock, ms. */
  readonly monoMs: () => number;
  /** Window length, ms (default SUMMARY_WINDOW_MS). */
  readonly windowMs?: number;
}

export class RefusalSummary {
  readonly #o: RefusalSummaryOptions;
  readonly #windowMs: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: RefusalSummaryOptions) {
    this.#o = options;
    this.#windowMs = options.windowMs ?? SUMMARY_WINDOW_MS;
  }

  /** Whether a refusal is of an unauthenticated message (and so is only counted). */
  static unauthenticated(code: string): boolean {
    return UNAUTHENTICATED_CODES.has(code as RefusalCode);
  }

  /**
   * Counts one refusal. `heldGrantId`: the grant the topic names when the device holds it, else
   * null (all such messages share one bucket). `atMs`: the device's time, for the row.
   */
  note(
    kind: 'control' | 'pull',
    heldGrantId: string | null,
    refusal: Refusal,
    messageId: string,
    atMs: number,
  ): void {
    const mono = this.#o.monoMs();
    this.flush(false, mono);
    const key = `${kind}/${heldGrantId ?? '*'}`;
    let b = this.#buckets.get(key);
    if (b === undefined) {
      b = {
        kind,
        grantId: heldGrantId,
        openedMono: mono,
        firstMs: atMs,
        lastMs: atMs,
        count: 0,
        byReason: new Map(),
        first: refusal,
        last: refusal,
        lastMessageId: messageId,
      };
      this.#buckets.set(key, b);
    }
    b.count++;
    b.lastMs = atMs;
    b.last = refusal;
    b.lastMessageId = messageId;
    b.byReason.set(refusal.code, (b.byReason.get(refusal.code) ?? 0) + 1);
  }

  /** Writes the buckets whose window has passed (`all`: every bucket, as at shutdown). */
  flush(all = true, mono = this.#o.monoMs()): number {
    let n = 0;
    for (const [key, b] of this.#buckets) {
      if (!all && mono - b.openedMono < this.#windowMs) continue;
      this.#buckets.delete(key);
      this.#o.append(summaryEntry(b));
      n++;
    }
    return n;
  }
}

function summaryEntry(b: Bucket): AuditEntry {
  return {
    atMs: b.lastMs,
    kind: b.kind,
    grantId: b.grantId,
    actor: '',
    command: '',
    args: JSON.stringify({
      count: b.count,
      reasons: Object.fromEntries(b.byReason),
      fromMs: b.firstMs,
      toMs: b.lastMs,
    }),
    nonce: '',
    messageId: b.lastMessageId,
    outcome: 'summarised',
    reason: b.first.code,
    detail:
      `${b.count} unauthenticated ${b.kind} message(s); first ${b.first.code}: ${b.first.detail}` +
      (b.count > 1 ? `; last ${b.last.code}: ${b.last.detail}` : ''),
    framesWritten: 0,
  };
}
