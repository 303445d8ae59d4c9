/**
 * The device's own key and its binding, as files in the data folder:
 *
 *   <dataDir>/device.key    the device's ed25519 secret key, hex, mode 0600; made at first start
 *                           from the system's randomness and never written anywhere else
 *   <dataDir>/binding.cbor  the owner-signed binding (chain/data/binding) that names this key and
 *                           carries the vehicle's data root wrapped to it
 *
 * The key file is written to a temporary name, fsynced, hard-linked into place (so two processes
 * never make two keys) and its folder fsynced: a power cut leaves either no key or a whole one.
 * Defence (issue 14, item 13): the key used to be written without fsync, so a power cut could leave
 * a zero-length device.key. A key file that is empty or not a key is an error naming the file; it
 * is never replaced by a new key, which would orphan the device's binding and its chain account
 * (test/unit/agent/main/load-device.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
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
import { writeFileAtomic } from '../../process/index.js';

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
  if (!existsSync(file))
    created = writeFileAtomic(file, `${toHex(new Uint8Array(randomBytes(32)))}\n`, {
      mode: 0o600,
      exclusive: true,
    });
  const text = readFileSync(file, 'utf8').trim();
  if (text === '')
    throw new DeviceIdentityError(
      'BAD_KEY_FILE',
      file,
      'the device key file is empty (a power cut while it was written?); restore it from a backup. It is not replaced by a new key: the binding and the chain account name this one (to start over with a new key, remove the file and pair the device again)',
    );
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

/** Checks a binding against this device, then writes it in place atomically and durably (it holds no secret in clear). */
export function installBinding(
  dataDir: string,
  bytes: Uint8Array,
  device: DeviceKey,
  vehicleId: string,
): DeviceBinding {
  const file = join(dataDir, BINDING_FILE);
  const { binding } = checkBinding(bytes, device, vehicleId, file);
  writeFileAtomic(file, bytes, { mode: 0o644 });
  return binding;
}
