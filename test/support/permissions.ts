/**
 * A device with permissions for tests: owner, device and grantee keys, the simulated car's profile
 * on a recording memory CAN wire, fake wall and monotonic clocks, live signals the test sets (in
 * the agent's own LatestValues), and helpers to issue grants and sign commands.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  BASE_TERMS,
  type ControlQueuePolicy,
  type GrantTerms,
  issueGrant,
  loadProfileFile,
  Permissions,
} from '../../agent/permissions/index.js';
import { LatestValues } from '../../agent/pipeline/latest-values.js';
import { MemoryPermissionStore, type PermissionStore } from '../../agent/store/index.js';
import type { Uplink } from '../../agent/sync/index.js';
import { Ed25519Signer, getPublicKey, type SampleValue, signCommand, toHex } from '../../chain/index.js';
import { CanActuator, CanWire } from '../../firmware-bridge/index.js';
import { silentLogger } from '../../process/log.js';
import { Metrics } from '../../process/metrics.js';
import { projectRoot } from './system.js';

export const VEHICLE = 'sim-perm-1';
export const SIM_PROFILE = join(projectRoot(), 'simulators', 'vehicle', 'qood-sim.profile.yaml');

/** A key pair from fixed or random bytes. */
export function keyPair(seed?: number): {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  hex: string;
  signer: Ed25519Signer;
} {
  const secretKey = seed === undefined ? new Uint8Array(randomBytes(32)) : new Uint8Array(32).fill(seed);
  const publicKey = getPublicKey(secretKey);
  return { secretKey, publicKey, hex: toHex(publicKey), signer: new Ed25519Signer(secretKey) };
}

export interface PermissionRig {
  readonly owner: ReturnType<typeof keyPair>;
  readonly device: ReturnType<typeof keyPair>;
  readonly grantee: ReturnType<typeof keyPair>;
  readonly wire: CanWire;
  readonly store: PermissionStore;
  readonly perms: Permissions;
  readonly metrics: Metrics;
  /**
   * The fake clocks, ms. Setting `nowMs` forward moves the monotonic clock by as much (time
   * passes); `stepWall` moves only the wall clock (a step: NTP, GNSS, no RTC battery).
   */
  clock: { nowMs: number; readonly monoMs: number; stepWall(deltaMs: number): void };
  /** The live signals (the agent's LatestValues on the rig's monotonic clock). */
  readonly latest: LatestValues;
  /** Sets a live signal, stamped at the current wall time (or `tMs`), received now. */
  setSignal(path: string, value: SampleValue, tMs?: number): void;
  /** Issues and installs a grant; returns its id. */
  grant(
    kind: 'listen' | 'control',
    scope: string[],
    terms?: Partial<GrantTerms>,
    window?: { fromMs?: number; toMs?: number },
  ): string;
  /** A command signed by `signer` (default the grantee). */
  command(
    grantId: string,
    command: string,
    extra?: { args?: Record<string, number>; issuedMs?: number; nonce?: string; signer?: Ed25519Signer },
  ): Uint8Array;
}

/** Builds a rig; `store` defaults to a memory store, `uplink` to none. */
export function permissionRig(
  options: {
    store?: PermissionStore;
    uplink?: Uplink;
    tickMs?: number;
    maxRateHz?: number;
    realClock?: boolean;
    controlQueue?: Partial<ControlQueuePolicy>;
  } = {},
): PermissionRig {
  const owner = keyPair();
  const device = keyPair();
  const grantee = keyPair();
  const wire = new CanWire({ record: true });
  const { profile, encodeMessage } = loadProfileFile(SIM_PROFILE);
  const actuator = new CanActuator({
    bus: wire.attach('vcan0'),
    profile,
    ...(encodeMessage ? { encodeMessage } : {}),
  });
  let wall = Date.UTC(2025, 0, 1);
  let mono = 1_000_000;
  const fake = {
    get nowMs() {
      return wall;
    },
    set nowMs(v: number) {
      if (v > wall) mono += v - wall;
      wall = v;
    },
    get monoMs() {
      return mono;
    },
    stepWall(deltaMs: number) {
      wall += deltaMs;
    },
  };
  const clock = options.realClock
    ? {
        get nowMs() {
          return Date.now();
        },
        set nowMs(_: number) {
          throw new Error('a rig on the real clock cannot move it');
        },
        get monoMs() {
          return performance.now();
        },
        stepWall(_: number) {
          throw new Error('a rig on the real clock cannot move it');
        },
      }
    : fake;
  const latest = new LatestValues({ monoMs: () => clock.monoMs });
  const store = options.store ?? new MemoryPermissionStore();
  const metrics = new Metrics();
  const perms = new Permissions({
    store,
    ownerPublicKey: owner.publicKey,
    vehicleId: VEHICLE,
    device: device.signer,
    chainId: 'qood-test',
    actuator,
    live: (p) => {
      const v = latest.get(p);
      return v === undefined
        ? undefined
        : { value: v.value, tMs: v.tUs / 1000, receivedMonoMs: v.receivedMonoMs };
    },
    nowMs: () => clock.nowMs,
    monoMs: () => clock.monoMs,
    policy: { skewMs: 30_000, maxSignalAgeMs: 2000 },
    metrics,
    logger: silentLogger,
    ...(options.uplink ? { uplink: options.uplink } : {}),
    ...(options.tickMs ? { tickMs: options.tickMs } : {}),
    ...(options.maxRateHz ? { maxRateHz: options.maxRateHz } : {}),
    ...(options.controlQueue ? { controlQueue: options.controlQueue } : {}),
  });
  return {
    owner,
    device,
    grantee,
    wire,
    store,
    perms,
    metrics,
    clock,
    latest,
    setSignal(path, value, tMs) {
      latest.add([{ path, value, tUs: (tMs ?? clock.nowMs) * 1000 }]);
    },
    grant(kind, scope, terms = {}, window = {}) {
      const { bundle } = issueGrant({
        ownerSecretKey: owner.secretKey,
        vehicleId: VEHICLE,
        grantee: grantee.hex,
        kind,
        scope,
        fromMs: window.fromMs ?? clock.nowMs - 1000,
        toMs: window.toMs ?? clock.nowMs + 3_600_000,
        terms: { ...BASE_TERMS, ...(kind === 'listen' ? { rateHz: 1 } : {}), ...terms },
        nonce: Math.floor(Math.random() * 1e9),
      });
      const r = perms.registry.install(bundle, 'test');
      if (!r.ok) throw new Error(`grant refused: ${r.code} ${r.message}`);
      return r.grant.id;
    },
    command(grantId, command, extra = {}) {
      return signCommand(
        {
          grantId,
          command,
          args: extra.args ?? {},
          nonce: extra.nonce ?? toHex(new Uint8Array(randomBytes(16))),
          issuedMs: extra.issuedMs ?? clock.nowMs,
        },
        extra.signer ?? grantee.signer,
      );
    },
  };
}

/** Sets the signals of a parked car with the engine off. */
export function parked(rig: PermissionRig): void {
  rig.setSignal('Vehicle.Speed', 0);
  rig.setSignal('Vehicle.Powertrain.CombustionEngine.IsRunning', false);
}
