/**
 * Starts the permissions of a running agent from its config: the permission store in the agent's
 * database, the vehicle profile and its actuator on a CAN bus, the `Permissions` object on the
 * sync's MQTT link, and the owner's local API methods. Undefined (with a warning saying how to
 * fix it) when the device is not paired, since grants are checked against the binding's owner key.
 */
import { Ed25519Signer } from '../../chain/index.js';
import { CanActuator, type CanBus } from '../../firmware-bridge/index.js';
import type { LocalMethod, Logger, Metrics } from '../../process/index.js';
import { type AgentConfig, storagePath } from '../config/index.js';
import type { LatestValues } from '../pipeline/latest-values.js';
import { loadBinding, loadOrCreateDeviceKey } from '../seal/index.js';
import { SqlitePermissionStore } from '../store/index.js';
import type { Uplink } from '../sync/index.js';
import { Permissions } from './permissions.js';
import { loadProfileFile } from './profile-file.js';

export interface StartPermissionsOptions {
  readonly config: AgentConfig;
  readonly latest: LatestValues;
  /** The sync's link, when `sync` is configured. */
  readonly uplink: Uplink | undefined;
  /** Buses the CAN sources opened, by interface (the actuator shares them). */
  readonly buses: ReadonlyMap<string, CanBus>;
  /** Opens a bus no source uses. */
  readonly openCanBus: ((iface: string) => Promise<CanBus>) | undefined;
  readonly nowMs: () => number;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/** What the agent keeps of the permissions. */
export interface StartedPermissions {
  readonly permissions: Permissions;
  readonly methods: Record<string, LocalMethod>;
  stop(): Promise<void>;
}

export async function startPermissions(o: StartPermissionsOptions): Promise<StartedPermissions | undefined> {
  const cfg = o.config.permissions;
  if (cfg === undefined) return undefined;
  const device = loadOrCreateDeviceKey(o.config.device.dataDir);
  const paired = loadBinding(o.config.device.dataDir, device, o.config.device.vehicleId);
  if (paired === undefined) {
    o.logger.warn(
      { dataDir: o.config.device.dataDir },
      'permissions configured but the device is not paired: nothing is granted until `qood keys pair`',
    );
    return undefined;
  }
  let actuator: CanActuator | undefined;
  let ownBus: CanBus | undefined;
  if (cfg.profile !== undefined) {
    const { profile, encodeMessage } = loadProfileFile(cfg.profile);
    const iface = cfg.interface ?? o.config.sources.can[0]?.interface;
    if (iface === undefined)
      throw new Error(
        'permissions.profile needs a CAN interface: set permissions.interface or a sources.can entry',
      );
    let bus = o.buses.get(iface);
    if (bus === undefined) {
      if (o.openCanBus === undefined)
        throw new Error(`permissions.interface ${iface}: this build cannot open CAN`);
      ownBus = await o.openCanBus(iface);
      bus = ownBus;
    }
    actuator = new CanActuator({ bus, profile, ...(encodeMessage === undefined ? {} : { encodeMessage }) });
    o.logger.info(
      { profile: profile.name, interface: iface, commands: [...profile.commands.keys()] },
      'actuator ready',
    );
  }
  const store = new SqlitePermissionStore({
    path: storagePath(o.config),
    synchronous: o.config.storage?.synchronous ?? 'full',
  });
  const permissions = new Permissions({
    store,
    ownerPublicKey: paired.binding.ownerPublicKey,
    vehicleId: o.config.device.vehicleId,
    device: new Ed25519Signer(device.secretKey),
    chainId: cfg.chainId,
    ...(actuator === undefined ? {} : { actuator }),
    live: (path) => {
      const v = o.latest.get(path);
      return v === undefined ? undefined : { value: v.value, tMs: v.tUs / 1000 };
    },
    nowMs: o.nowMs,
    policy: { skewMs: cfg.skewMs, maxSignalAgeMs: cfg.maxSignalAgeMs },
    maxRateHz: cfg.maxListenRateHz,
    tickMs: cfg.tickMs,
    ...(o.uplink === undefined ? {} : { uplink: o.uplink }),
    ...(o.config.sync === undefined ? {} : { topicPrefix: o.config.sync.topicPrefix }),
    metrics: o.metrics,
    logger: o.logger.child({ stage: 'permissions' }),
  });
  permissions.start();
  o.logger.info(
    { grants: permissions.registry.list().length, rejected: permissions.registry.rejectedAtStart },
    'permissions started',
  );
  return {
    permissions,
    methods: permissions.localMethods(),
    async stop() {
      await permissions.stop();
      store.close();
      await ownBus?.close();
    },
  };
}
