/**
 * Starts the permissions of a running agent from its config: the permission store in the agent's
 * database, the vehicle profile and its actuator on a CAN bus, the `Permissions` object on the
 * sync's MQTT link, and the owner's local API methods. Undefined (with a warning saying how to
 * fix it) when the device is not paired, since grants are checked against the binding's owner key.
 */
import { Ed25519Signer } from '../../chain/index.js';
import { CanActuator, type CanBus } from '../../firmware-bridge/index.js';
import type { LocalMethod, Logger, Metrics } from '../../process/index.js';
import { type AgentConfig, type PermissionsConfig, storagePath } from '../config/index.js';
import { AgentError } from '../errors.js';
import { Permissions } from '../permissions/permissions.js';
import { loadProfileFile } from '../permissions/profile-file.js';
import type { LatestValues } from '../pipeline/latest-values.js';
import { SqlitePermissionStore } from '../store/index.js';
import type { Adapters } from './adapters.js';
import type { DeviceState } from './load-device.js';
import { canOpener } from './open-sources.js';
import type { Sink } from './start-sink.js';
import type { Teardown } from './teardown.js';

export interface StartPermissionsOptions {
  readonly config: AgentConfig;
  readonly device: DeviceState | undefined;
  readonly sink: Sink;
  readonly latest: LatestValues;
  /** Buses the CAN sources opened, by interface (the actuator shares them). */
  readonly buses: ReadonlyMap<string, CanBus>;
  readonly adapters: Adapters;
  readonly nowMs: () => number;
  /** The chain's latest final header time, once the chain stage runs (a reference for the device clock). */
  readonly chainTimeMs?: () => number | undefined;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly teardown: Teardown;
}

/** What the agent keeps of the permissions. */
export interface StartedPermissions {
  readonly permissions: Permissions;
  /** The owner's local API methods (`grants.*`, `audit`). */
  readonly methods: Record<string, LocalMethod>;
}

/**
 * Starts the permissions when `permissions` is configured and the device is paired. Throws
 * AgentError (NO_CAN_DRIVER, CONFIG_RULE) and ActuatorError for a profile that does not load.
 */
export async function startPermissions(o: StartPermissionsOptions): Promise<StartedPermissions | undefined> {
  const cfg = o.config.permissions;
  if (cfg === undefined) return undefined;
  if (o.sink.store === undefined || o.device === undefined)
    throw new AgentError(
      'CONFIG_RULE',
      'permissions need the store: add a `storage` (or `sync`) section to the config',
      { field: 'permissions' },
    );
  const paired = o.device.paired;
  if (paired === undefined) {
    o.logger.warn(
      { dataDir: o.config.device.dataDir },
      'permissions configured but the device is not paired: nothing is granted until `qood keys pair`',
    );
    return undefined;
  }
  const actuator = await openActuator(cfg, o);
  const store = new SqlitePermissionStore({
    path: storagePath(o.config),
    synchronous: o.config.storage?.synchronous ?? 'full',
    auditMaxRows: cfg.auditMaxRows,
  });
  o.teardown.add(() => store.close());
  const permissions = new Permissions({
    store,
    ownerPublicKey: paired.binding.ownerPublicKey,
    vehicleId: o.config.device.vehicleId,
    device: new Ed25519Signer(o.device.secretKey),
    chainId: cfg.chainId,
    ...(actuator === undefined ? {} : { actuator }),
    live: (path) => {
      const v = o.latest.get(path);
      return v === undefined
        ? undefined
        : { value: v.value, tMs: v.tUs / 1000, receivedMonoMs: v.receivedMonoMs };
    },
    nowMs: o.nowMs,
    ...(o.chainTimeMs === undefined ? {} : { chainTimeMs: o.chainTimeMs }),
    clockBoundMs: cfg.clockBoundMs,
    policy: { skewMs: cfg.skewMs, maxSignalAgeMs: cfg.maxSignalAgeMs },
    maxRateHz: cfg.maxListenRateHz,
    tickMs: cfg.tickMs,
    ...(o.sink.uplink === undefined ? {} : { uplink: o.sink.uplink }),
    ...(o.config.sync === undefined ? {} : { topicPrefix: o.config.sync.topicPrefix }),
    metrics: o.metrics,
    logger: o.logger.child({ stage: 'permissions' }),
  });
  permissions.start();
  o.teardown.add(() => permissions.stop());
  const sync = o.sink.sync;
  if (sync !== undefined) {
    // Revokes and control executions are queued in the outbox by the permission store, not the
    // data path: publish them within a second even when no chunk is being stored.
    const timer = setInterval(() => sync.notify(), 1000);
    timer.unref();
    o.teardown.add(() => clearInterval(timer));
  }
  o.logger.info(
    { grants: permissions.registry.list().length, rejected: permissions.registry.rejectedAtStart },
    'permissions started',
  );
  return { permissions, methods: permissions.localMethods() };
}

/** The actuator of `permissions.profile` on its CAN bus (a source's, or one opened for it). */
async function openActuator(
  cfg: PermissionsConfig,
  o: StartPermissionsOptions,
): Promise<CanActuator | undefined> {
  if (cfg.profile === undefined) return undefined;
  const { profile, encodeMessage } = loadProfileFile(cfg.profile);
  const iface = cfg.interface ?? o.config.sources.can[0]?.interface;
  if (iface === undefined)
    throw new AgentError(
      'CONFIG_RULE',
      'permissions.profile needs a CAN interface: set permissions.interface or a sources.can entry',
      { field: 'permissions.profile' },
    );
  let bus = o.buses.get(iface);
  if (bus === undefined) {
    const open = canOpener(o.adapters);
    if (open === undefined)
      throw new AgentError('NO_CAN_DRIVER', `permissions.interface ${iface}: this build cannot open CAN`, {
        field: 'permissions.interface',
        interface: iface,
      });
    const own = await open(iface);
    o.teardown.add(() => own.close());
    bus = own;
  }
  const actuator = new CanActuator({
    bus,
    profile,
    ...(encodeMessage === undefined ? {} : { encodeMessage }),
  });
  o.logger.info(
    { profile: profile.name, interface: iface, commands: [...profile.commands.keys()] },
    'actuator ready',
  );
  return actuator;
}
