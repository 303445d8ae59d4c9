/**
 * `Permissions`: the grant registry, the control service and the listener hub of one device, tied
 * to the broker (topics.ts) and to the owner's local API (`grants.*`, `audit`).
 *
 * Owner revocation (`grants.revoke`): the registry marks the grant revoked in the store and in
 * memory and tells the hub and the control queue, all before the method returns, with no network
 * involved. The chain hears of it through the outbox: with an owner-signed revoke transaction
 * (`qood grants revoke --seed-file`), that transaction is queued as `revoke`, ready to submit;
 * without one the device cannot sign for the owner, and queues a `revoke-request`
 * (canonical [1, grantId, revokedMs]) for the owner's wallet to sign and submit.
 */
import { type Ed25519Signer, encodeCanonical, fromHex } from '../../chain/index.js';
import type { CanActuator } from '../../firmware-bridge/index.js';
import { LocalApiError, type LocalMethod, type Logger, type Metrics } from '../../process/index.js';
import type { PermissionStore } from '../store/index.js';
import type { Uplink } from '../sync/index.js';
import type { CheckPolicy, LiveSignal } from './checks.js';
import { type ControlQueuePolicy, ControlService } from './control-service.js';
import { DeviceClock, type ReferenceTime } from './device-clock.js';
import { GrantError, verifyOwnerRevoke } from './grant.js';
import { GrantRegistry, grantEndMs, grantState, type HeldGrant } from './grant-registry.js';
import { ListenerHub } from './listener-hub.js';
import { RefusalSummary } from './refusal-summary.js';
import { type PermissionTopics, permissionTopics } from './topics.js';

/** Counters of the broker side. */
export const PERMISSION_COUNTERS = [
  'grants.received',
  'grants.refused',
  'permissions.publish.errors',
] as const;

export interface PermissionsOptions {
  readonly store: PermissionStore;
  /** The owner key of the device's binding: grants and owner revokes must be signed by it. */
  readonly ownerPublicKey: Uint8Array;
  readonly vehicleId: string;
  /** The device key (signs receipts and `controlExec` transactions). */
  readonly device: Ed25519Signer;
  readonly chainId: string;
  /** Absent: control commands are refused as UNSUPPORTED_COMMAND (no actuator configured). */
  readonly actuator?: CanActuator;
  readonly live: (path: string) => LiveSignal;
  /** Wall clock, ms since the epoch. */
  readonly nowMs: () => number;
  /** Monotonic clock, ms (default performance.now): signal ages, queue waits, clock steps. */
  readonly monoMs?: () => number;
  /** The time of the light client's latest final header, ms (a reference for the wall clock). */
  readonly chainTimeMs?: () => number | undefined;
  /** Largest disagreement between the wall clock and GNSS or chain time before control stops, ms. */
  readonly clockBoundMs?: number;
  readonly policy: CheckPolicy;
  readonly maxRateHz?: number;
  readonly tickMs?: number;
  /** Control queue bounds (default CONTROL_QUEUE_DEFAULTS). */
  readonly controlQueue?: Partial<ControlQueuePolicy>;
  readonly uplink?: Uplink;
  readonly topicPrefix?: string;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/**
 * The live signal that carries the GNSS receiver's UTC time (agent/decode/gnss: the fix's time as
 * ISO 8601): the DeviceClock's GNSS reference, read with the monotonic time it arrived.
 */
export const GNSS_TIME_PATH = 'Vehicle.CurrentLocation.Timestamp';

export class Permissions {
  readonly registry: GrantRegistry;
  /** The device's time and whether the wall clock is sound (issue 14, attack 6). */
  readonly clock: DeviceClock;
  readonly control: ControlService | undefined;
  readonly hub: ListenerHub;
  readonly topics: PermissionTopics;
  /** Refusals of unauthenticated commands and pulls, counted per minute (attack 10). */
  readonly summary: RefusalSummary;
  readonly #o: PermissionsOptions;
  readonly #offs: (() => void)[] = [];
  /** Control commands being handled (tests and shutdown wait on them). */
  readonly inFlight = new Set<Promise<unknown>>();

  constructor(options: PermissionsOptions) {
    this.#o = options;
    options.metrics.declare(...PERMISSION_COUNTERS);
    this.topics = permissionTopics(options.topicPrefix ?? 'qood/v1', options.vehicleId);
    const monoMs = options.monoMs ?? (() => performance.now());
    this.clock = new DeviceClock({
      wallMs: options.nowMs,
      monoMs,
      gnssTime: () => gnssTime(options.live(GNSS_TIME_PATH)),
      ...(options.chainTimeMs === undefined ? {} : { chainTimeMs: options.chainTimeMs }),
      ...(options.clockBoundMs === undefined ? {} : { boundMs: options.clockBoundMs }),
      floor: options.store,
    });
    // Everything below judges time by the DeviceClock, which never goes back (attack 6).
    const nowMs = () => this.clock.nowMs();
    this.summary = new RefusalSummary({ append: (e) => options.store.appendAudit(e), monoMs });
    this.registry = new GrantRegistry({
      store: options.store,
      ownerPublicKey: options.ownerPublicKey,
      vehicleId: options.vehicleId,
      nowMs,
      logger: options.logger,
    });
    const publish = (topic: string, bytes: Uint8Array) => {
      const up = options.uplink;
      if (up === undefined) return;
      up.publish(topic, bytes).catch(() => options.metrics.inc('permissions.publish.errors'));
    };
    this.control =
      options.actuator === undefined
        ? undefined
        : new ControlService({
            registry: this.registry,
            store: options.store,
            actuator: options.actuator,
            live: options.live,
            policy: options.policy,
            nowMs,
            monoMs,
            clock: this.clock,
            summary: this.summary,
            device: options.device,
            chainId: options.chainId,
            publishReceipt: (id, bytes) => publish(this.topics.receipt(id), bytes),
            ...(options.controlQueue === undefined ? {} : { queue: options.controlQueue }),
            metrics: options.metrics,
            logger: options.logger.child({ stage: 'control' }),
          });
    this.hub = new ListenerHub({
      registry: this.registry,
      device: options.device,
      store: options.store,
      live: options.live,
      nowMs,
      validityNowMs: () => this.clock.validityNowMs(),
      monoMs,
      summary: this.summary,
      publish: (id, bytes) => publish(this.topics.listen(id), bytes),
      policy: options.policy,
      metrics: options.metrics,
      logger: options.logger.child({ stage: 'listen' }),
      ...(options.maxRateHz === undefined ? {} : { maxRateHz: options.maxRateHz }),
      ...(options.tickMs === undefined ? {} : { tickMs: options.tickMs }),
    });
  }

  /** Starts the listener timer and, with an uplink, the subscriptions (again at each reconnect). */
  start(): void {
    this.hub.start();
    const up = this.#o.uplink;
    if (up === undefined) return;
    const t = this.topics;
    const subscribe = () => {
      for (const f of [t.grant, t.revoke, t.commandFilter, t.pullFilter])
        up.subscribe(f).catch((err: Error) =>
          this.#o.logger.warn({ filter: f, err: err.message }, 'subscribe failed'),
        );
    };
    this.#offs.push(
      up.onConnect(subscribe),
      up.onMessage((topic, payload) => this.#onMessage(topic, payload)),
    );
    if (up.connected) subscribe();
  }

  /** Stops the timer and the subscriptions; waits for commands being handled. */
  async stop(): Promise<void> {
    for (const off of this.#offs.splice(0)) off();
    this.hub.stop();
    await Promise.allSettled([...this.inFlight]);
    this.summary.flush();
    this.clock.save();
  }

  /** Handles a control command as if it came from the broker (tests, benches). */
  handleCommand(grantId: string, payload: Uint8Array): Promise<unknown> {
    const p =
      this.control?.handle(grantId, payload) ??
      Promise.resolve(this.#o.logger.warn({ grant: grantId }, 'control command but no actuator configured'));
    this.inFlight.add(p);
    p.finally(() => this.inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  #onMessage(topic: string, payload: Uint8Array): void {
    const t = this.topics;
    const o = this.#o;
    if (topic === t.grant) {
      o.metrics.inc('grants.received');
      const r = this.registry.install(payload, 'mqtt');
      if (!r.ok) {
        o.metrics.inc('grants.refused');
        o.logger.warn({ code: r.code }, `grant refused: ${r.message}`);
      }
    } else if (topic === t.revoke) {
      try {
        const id = verifyOwnerRevoke(payload, o.ownerPublicKey);
        this.registry.revoke(id, 'owner-tx', { kind: 'revoke', bytes: payload });
      } catch (err) {
        if (!(err instanceof GrantError)) throw err;
        o.logger.warn({ code: err.code }, `revoke refused: ${err.message}`);
      }
    } else if (topic.endsWith('/cmd')) {
      this.handleCommand(t.grantIdOf(topic), payload).catch((err: Error) => {
        o.metrics.inc('control.errors');
        o.logger.error({ topic, err: err.message }, 'control command failed inside the agent');
      });
    } else if (topic.endsWith('/pull')) {
      this.hub.handlePull(t.grantIdOf(topic), payload);
    }
  }

  /**
   * Revokes at once. `signedTx`: the owner's signed revoke transaction for the chain. A grant the
   * device does not hold (yet) is revoked by its full id (64 hex digits):
   * the tombstone refuses the grant when its bundle arrives (issue 14, attack 2).
   */
  revoke(idOrPrefix: string, signedTx?: Uint8Array): { id: string; revokedAtMs: number; queued: string } {
    let signedId: string | undefined;
    if (signedTx !== undefined) {
      try {
        signedId = verifyOwnerRevoke(signedTx, this.#o.ownerPublicKey);
      } catch (err) {
        if (err instanceof GrantError) throw new LocalApiError('INVALID_PARAMS', err.message);
        throw err;
      }
    }
    const id = this.#find(idOrPrefix, true)?.id ?? idOrPrefix.toLowerCase();
    if (signedId !== undefined && signedId !== id)
      throw new LocalApiError('INVALID_PARAMS', `the signed revoke names grant ${signedId}, not ${id}`);
    const tx =
      signedTx !== undefined
        ? { kind: 'revoke', bytes: signedTx }
        : { kind: 'revoke-request', bytes: encodeCanonical([1, fromHex(id), this.clock.nowMs()]) };
    if (!this.registry.revoke(id, 'owner', tx)) {
      const t = this.registry.revocation(id) ?? { by: this.registry.get(id)?.revokedBy ?? 'owner' };
      throw new LocalApiError('FAILED', `grant ${id} is already revoked (by ${t.by})`);
    }
    return { id, revokedAtMs: this.registry.revocation(id)!.atMs, queued: tx.kind };
  }

  /**
   * The held grant `idOrPrefix` names. With `orFullId`, a full id (64 hex digits) of a grant the
   * device does not hold gives undefined instead of an error.
   */
  #find(idOrPrefix: string, orFullId: true): HeldGrant | undefined;
  #find(idOrPrefix: string): HeldGrant;
  #find(idOrPrefix: string, orFullId = false): HeldGrant | undefined {
    const p = idOrPrefix.toLowerCase();
    if (!/^[0-9a-f]{8,64}$/.test(p))
      throw new LocalApiError('INVALID_PARAMS', `grant id: expected 8 to 64 hex digits, got '${idOrPrefix}'`);
    const found = this.registry.list().filter((g) => g.id.startsWith(p));
    if (found.length === 0 && orFullId && p.length === 64) return undefined;
    if (found.length === 0)
      throw new LocalApiError(
        'INVALID_PARAMS',
        `no grant ${idOrPrefix} on this device${orFullId ? ' (give all 64 digits to revoke a grant the device has not received)' : ''}`,
      );
    if (found.length > 1)
      throw new LocalApiError(
        'INVALID_PARAMS',
        `${idOrPrefix} matches ${found.length} grants; give more digits`,
      );
    return found[0]!;
  }
  /** A grant as the local API shows it. */
  describe(g: HeldGrant, full = false): Record<string, unknown> {
    const nowMs = this.clock.validityNowMs();
    return {
      id: g.id,
      kind: g.body.kind,
      grantee: g.body.grantee,
      scope: g.body.scope,
      state: grantState(g, nowMs),
      fromMs: g.body.fromMs,
      toMs: grantEndMs(g),
      receivedMs: g.receivedMs,
      revokedMs: g.revokedMs,
      revokedBy: g.revokedBy,
      ...(full
        ? {
            terms: {
              rateHz: g.terms.rateHz,
              granularity: Object.fromEntries(g.terms.granularity),
              conditions: g.terms.conditions,
              commandLimit: g.terms.commandLimit ?? null,
              whileEngineRunning: g.terms.whileEngineRunning,
              pull: g.terms.pull,
              minPaid: g.terms.minPaid.toString(),
            },
            chain: g.chainToMs === null ? null : { paid: g.chainPaid?.toString(), toMs: g.chainToMs },
            recent: this.#o.store.audit({ grantId: g.id, limit: 20 }),
          }
        : {}),
    };
  }

  /** The owner's local API methods. */
  localMethods(): Record<string, LocalMethod> {
    const str = (p: Record<string, unknown>, k: string): string => {
      const v = p[k];
      if (typeof v !== 'string') throw new LocalApiError('INVALID_PARAMS', `params.${k}: expected a string`);
      return v;
    };
    const hexParam = (p: Record<string, unknown>, k: string): Uint8Array => {
      const v = str(p, k);
      if (!/^([0-9a-fA-F]{2})+$/.test(v))
        throw new LocalApiError('INVALID_PARAMS', `params.${k}: expected hex bytes`);
      return fromHex(v.toLowerCase());
    };
    return {
      'permissions.clock': () => this.clock.status(),
      'grants.list': () => this.registry.list().map((g) => this.describe(g)),
      'grants.show': (p) => this.describe(this.#find(str(p, 'id')), true),
      'grants.install': (p) => {
        const r = this.registry.install(hexParam(p, 'bundle'), 'local');
        if (!r.ok) throw new LocalApiError('INVALID_PARAMS', `${r.code}: ${r.message}`);
        return { id: r.grant.id, duplicate: r.duplicate, grant: this.describe(r.grant) };
      },
      'grants.revoke': (p) =>
        this.revoke(str(p, 'id'), p.signedTx === undefined ? undefined : hexParam(p, 'signedTx')),
      'audit.verify': () => {
        this.summary.flush();
        return this.#o.store.verifyAudit();
      },
      audit: (p) => {
        const limit = typeof p.limit === 'number' ? Math.min(Math.max(1, p.limit), 10_000) : 100;
        const afterSeq = typeof p.afterSeq === 'number' ? p.afterSeq : 0;
        const grantId = p.grant === undefined ? undefined : this.#find(str(p, 'grant')).id;
        // The owner sees the counts of unauthenticated messages up to now.
        this.summary.flush();
        return this.#o.store.audit({ limit, afterSeq, ...(grantId === undefined ? {} : { grantId }) });
      },
    };
  }
}

/** The GNSS time of a `Vehicle.CurrentLocation.Timestamp` value, with when it arrived. */
function gnssTime(s: LiveSignal): ReferenceTime | undefined {
  if (s === undefined || typeof s.value !== 'string') return undefined;
  const utcMs = Date.parse(s.value);
  return Number.isFinite(utcMs) ? { utcMs, atMonoMs: s.receivedMonoMs } : undefined;
}
