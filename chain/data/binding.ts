/**
 * The device binding: the owner's signed statement that a device key speaks for a vehicle, carrying
 * the vehicle's data root wrapped to that device key (chain/crypto/x25519-wrap), never the seed.
 * The device checks grants against the owner key named here, so permissions work offline.
 *
 *   binding = [1, vehicleId, devicePublicKey, ownerPublicKey, wrappedDataRoot, oemPublicKey | null,
 *              epochLengthS, issuedMs]
 *   signed  = [binding, ed25519(owner, taggedHash("qood/binding/v1", canonical(binding)))]
 *
 * The wrap's context is `canonical(["qood/binding-root/v1", vehicleId])`, so a root wrapped for one
 * vehicle does not unwrap as another's.
 */
import { CodecError, decodeCanonical, encodeCanonical } from '../codec/canonical.js';
import { readArray, readBytes, readText, readUint } from '../codec/fields.js';
import { Ed25519Signer, verify } from '../crypto/ed25519.js';
import { taggedHash, toHex } from '../crypto/hash.js';
import {
  unwrapKey,
  WRAPPED_KEY_LENGTH,
  wrapKey,
  x25519PublicFromEd25519,
  x25519SecretFromEd25519,
} from '../crypto/x25519-wrap.js';

export interface DeviceBinding {
  readonly vehicleId: string;
  readonly devicePublicKey: Uint8Array;
  readonly ownerPublicKey: Uint8Array;
  readonly wrappedDataRoot: Uint8Array;
  /** The carmaker's key for OEM-class and disputed data, if the vehicle has an agreement. */
  readonly oemPublicKey: Uint8Array | null;
  /** Length of a key epoch: chunks in one epoch of a stream share a key. */
  readonly epochLengthS: number;
  readonly issuedMs: number;
}

export class BindingError extends Error {
  constructor(
    readonly code: 'MALFORMED' | 'BAD_SIGNATURE' | 'WRONG_DEVICE',
    message: string,
  ) {
    super(message);
    this.name = 'BindingError';
  }
}

const rootContext = (vehicleId: string) => encodeCanonical(['qood/binding-root/v1', vehicleId]);

function bindingValue(b: DeviceBinding) {
  return [
    1,
    b.vehicleId,
    b.devicePublicKey,
    b.ownerPublicKey,
    b.wrappedDataRoot,
    b.oemPublicKey,
    b.epochLengthS,
    b.issuedMs,
  ];
}

/** The owner creates a binding: wraps `dataRoot` to the device key and signs. */
export function createBinding(options: {
  vehicleId: string;
  devicePublicKey: Uint8Array;
  ownerSecretKey: Uint8Array;
  dataRoot: Uint8Array;
  oemPublicKey?: Uint8Array | null;
  epochLengthS: number;
  issuedMs: number;
  /** For test vectors only; a fresh random one otherwise. */
  ephemeralSecret?: Uint8Array;
}): Uint8Array {
  const owner = new Ed25519Signer(options.ownerSecretKey);
  const b: DeviceBinding = {
    vehicleId: options.vehicleId,
    devicePublicKey: options.devicePublicKey,
    ownerPublicKey: owner.publicKey,
    wrappedDataRoot: wrapKey(
      options.dataRoot,
      x25519PublicFromEd25519(options.devicePublicKey),
      rootContext(options.vehicleId),
      ...(options.ephemeralSecret ? [options.ephemeralSecret] : []),
    ),
    oemPublicKey: options.oemPublicKey ?? null,
    epochLengthS: options.epochLengthS,
    issuedMs: options.issuedMs,
  };
  const v = bindingValue(b);
  return encodeCanonical([v, owner.sign(taggedHash('qood/binding/v1', encodeCanonical(v)))]);
}

/** Decodes a binding and checks the owner's signature. Throws BindingError. */
export function openBinding(bytes: Uint8Array): DeviceBinding {
  let b: DeviceBinding;
  let sig: Uint8Array;
  try {
    const top = readArray(decodeCanonical(bytes), 'binding', 2);
    const a = readArray(top[0], 'binding.body', 8);
    if (readUint(a[0], 'binding.version') !== 1)
      throw new CodecError('SHAPE', 'binding.version', 'expected 1');
    b = {
      vehicleId: readText(a[1], 'binding.vehicleId', 128),
      devicePublicKey: readBytes(a[2], 'binding.devicePublicKey', 32),
      ownerPublicKey: readBytes(a[3], 'binding.ownerPublicKey', 32),
      wrappedDataRoot: readBytes(a[4], 'binding.wrappedDataRoot', WRAPPED_KEY_LENGTH),
      oemPublicKey: a[5] === null ? null : readBytes(a[5], 'binding.oemPublicKey', 32),
      epochLengthS: readUint(a[6], 'binding.epochLengthS'),
      issuedMs: readUint(a[7], 'binding.issuedMs'),
    };
    sig = readBytes(top[1], 'binding.signature', 64);
  } catch (err) {
    if (err instanceof CodecError) throw new BindingError('MALFORMED', `binding: ${err.message}`);
    throw err;
  }
  if (!verify(sig, taggedHash('qood/binding/v1', encodeCanonical(bindingValue(b))), b.ownerPublicKey))
    throw new BindingError('BAD_SIGNATURE', 'binding: the owner signature does not verify');
  return b;
}

/** The device unwraps its data root with its own secret key. Throws BindingError('WRONG_DEVICE'). */
export function unwrapDataRoot(b: DeviceBinding, deviceSecretKey: Uint8Array): Uint8Array {
  try {
    return unwrapKey(b.wrappedDataRoot, x25519SecretFromEd25519(deviceSecretKey), rootContext(b.vehicleId));
  } catch {
    throw new BindingError('WRONG_DEVICE', 'binding: the data root is not wrapped to this device key');
  }
}

/** The chain's 32-byte id (hex) of a vehicle named by its config id (what devices and nodes call it). */
export function chainVehicleId(vehicleId: string): string {
  return toHex(taggedHash('qood/vehicle-id/v1', new TextEncoder().encode(vehicleId)));
}
