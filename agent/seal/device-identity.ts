/**
 * The device's own key and its binding, as files in the data folder:
 *
 *   <dataDir>/device.key    the device's ed25519 secret key, hex, mode 0600; made at first start
 *                           from the system's randomness and never written anywhere else
 *   <dataDir>/binding.cbor  the owner-signed binding (chain/data/binding) that names this key and
 *                           carries the vehicle's data root wrapped to it
 *
 * The key file is created with O_EXCL through a temporary name and renamed into place, so a power
 * cut leaves either no key or a whole one, and two processes never make two keys.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BindingError,
  bytesEqual,
  type DeviceBinding,
  getPublicKey,
  openBinding,
  toHex,
  unwrapDataRoot,
} from '../../chain/index.js';

export const DEVICE_KEY_FILE = 'device.key';
export const BINDING_FILE = 'binding.cbor';

/** A key or binding file that cannot be used, with the file and the fix. */
export class DeviceIdentityError extends Error {
  constructor(
    readonly code: 'BAD_KEY_FILE' | 'BAD_BINDING' | 'NOT_THIS_DEVICE' | 'WRONG_VEHICLE',
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'DeviceIdentityError';
  }
}

/** Reads the device key, creating it on first use. Returns the secret and public key. */
export function loadOrCreateDeviceKey(dataDir: string): {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  created: boolean;
} {
  const file = join(dataDir, DEVICE_KEY_FILE);
  let created = false;
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${toHex(new Uint8Array(randomBytes(32)))}\n`, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(tmp, file); // fails if another process made the key first
      created = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(tmp);
    }
  }
  const text = readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(text))
    throw new DeviceIdentityError(
      'BAD_KEY_FILE',
      file,
      'expected 64 hex digits (an ed25519 secret key); restore it from a backup or remove it to make a new device key (the device must then be paired again)',
    );
  const secretKey = Uint8Array.from(Buffer.from(text, 'hex'));
  return { secretKey, publicKey: getPublicKey(secretKey), created };
}

type DeviceKey = { secretKey: Uint8Array; publicKey: Uint8Array };

/** Checks binding bytes against this device and vehicle; returns the binding and the data root. */
export function checkBinding(
  bytes: Uint8Array,
  device: DeviceKey,
  vehicleId: string,
  file: string,
): { binding: DeviceBinding; dataRoot: Uint8Array } {
  let binding: DeviceBinding;
  try {
    binding = openBinding(bytes);
  } catch (err) {
    if (err instanceof BindingError) throw new DeviceIdentityError('BAD_BINDING', file, err.message);
    throw err;
  }
  if (!bytesEqual(binding.devicePublicKey, device.publicKey))
    throw new DeviceIdentityError(
      'NOT_THIS_DEVICE',
      file,
      `the binding names device ${toHex(binding.devicePublicKey).slice(0, 16)}, this device is ${toHex(device.publicKey).slice(0, 16)}; pair again with this device's key`,
    );
  if (binding.vehicleId !== vehicleId)
    throw new DeviceIdentityError(
      'WRONG_VEHICLE',
      file,
      `the binding is for vehicle '${binding.vehicleId}', the config says '${vehicleId}'`,
    );
  return { binding, dataRoot: unwrapDataRoot(binding, device.secretKey) };
}

/** The binding and the data root it hands this device, or undefined when the device is not paired. */
export function loadBinding(
  dataDir: string,
  device: DeviceKey,
  vehicleId: string,
): { binding: DeviceBinding; dataRoot: Uint8Array } | undefined {
  const file = join(dataDir, BINDING_FILE);
  if (!existsSync(file)) return undefined;
  return checkBinding(readFileSync(file), device, vehicleId, file);
}

/** Checks a binding against this device, then writes it in place atomically (it holds no secret in clear). */
export function installBinding(
  dataDir: string,
  bytes: Uint8Array,
  device: DeviceKey,
  vehicleId: string,
): DeviceBinding {
  const file = join(dataDir, BINDING_FILE);
  const { binding } = checkBinding(bytes, device, vehicleId, file);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes, { mode: 0o644 });
  renameSync(tmp, file);
  return binding;
}
