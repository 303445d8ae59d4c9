/**
 * Who the device is, read once at start and handed to every stage that signs or checks: its key
 * (made here at first start) and, once the owner has paired it, the binding with the owner's key
 * and the vehicle data root. The data path seals with them; permissions check grants against the
 * owner key; the order desk sells under the agreement they name.
 */
import { type DeviceBinding, toHex } from '../../chain/index.js';
import type { Logger } from '../../process/index.js';
import type { AgentConfig } from '../config/index.js';
import { loadBinding, loadOrCreateDeviceKey } from '../seal/index.js';

/** The device's key and, when paired, its binding. */
export interface DeviceState {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
  /** The owner's binding and the data root it hands this device; undefined until `qood keys pair`. */
  readonly paired: { readonly binding: DeviceBinding; readonly dataRoot: Uint8Array } | undefined;
}

/**
 * Reads the device key (creating it at first start) and the binding from `device.dataDir`. Throws
 * DeviceIdentityError for a key or binding file that cannot be used.
 */
export function loadDevice(config: AgentConfig, logger: Logger): DeviceState {
  const key = loadOrCreateDeviceKey(config.device.dataDir);
  if (key.created) logger.info({ devicePublicKey: toHex(key.publicKey) }, 'device key created');
  const paired = loadBinding(config.device.dataDir, key, config.device.vehicleId);
  return { secretKey: key.secretKey, publicKey: key.publicKey, paired };
}
