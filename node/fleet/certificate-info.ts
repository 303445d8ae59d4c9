/**
 * What a fleet certificate says about its holder, read with Node's X509Certificate: the role (subject
 * OU), the name the broker uses as username (subject CN), and for a vehicle the device's ed25519 chain
 * key from its subjectAltName URI. A node or an enrolment service uses it to check that a TLS
 * identity and a chain key belong together.
 */
import { X509Certificate } from 'node:crypto';
import { FleetError } from './fleet-error.js';
import { FLEET_ROLES, type FleetRole } from './names.js';

/** SAN URI prefix carrying a vehicle's ed25519 device key (64 hex digits follow). */
export const DEVICE_KEY_URI_PREFIX = 'urn:qood:device-key:ed25519:';
/** SAN URI prefix carrying a node's ed25519 chain key. */
export const NODE_KEY_URI_PREFIX = 'urn:qood:node-key:ed25519:';
/** SAN URI prefix naming a grantee's grant. */
export const GRANT_URI_PREFIX = 'urn:qood:grant:';

/** The fields of a fleet certificate. */
export interface FleetCertificateInfo {
  readonly role: FleetRole;
  /** Subject CN: the broker username. */
  readonly name: string;
  /** Upper-case hex serial. */
  readonly serial: string;
  /** The ed25519 chain key the certificate is bound to (hex), for vehicles and nodes that gave one. */
  readonly chainKey: string | undefined;
  readonly notAfter: Date;
}

function field(subject: string, key: string): string | undefined {
  for (const line of subject.split('\n')) if (line.startsWith(`${key}=`)) return line.slice(key.length + 1);
  return undefined;
}

/** Reads a PEM certificate issued by a fleet CA; throws a `usage` FleetError for anything else. */
export function readFleetCertificate(pem: string | Uint8Array): FleetCertificateInfo {
  let x: X509Certificate;
  try {
    x = new X509Certificate(pem);
  } catch (err) {
    throw new FleetError({
      code: 'usage',
      message: `not a PEM certificate: ${(err as Error).message}`,
      cause: err,
    });
  }
  const ou = field(x.subject, 'OU');
  const name = field(x.subject, 'CN');
  if (ou === undefined || !(FLEET_ROLES as readonly string[]).includes(ou) || name === undefined)
    throw new FleetError({
      code: 'usage',
      message: `certificate subject '${x.subject.replaceAll('\n', ', ')}': expected OU=<${FLEET_ROLES.join('|')}> and a CN`,
    });
  const uris = (x.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
  const keyUri = uris.find((u) => u.startsWith(DEVICE_KEY_URI_PREFIX) || u.startsWith(NODE_KEY_URI_PREFIX));
  return {
    role: ou as FleetRole,
    name,
    serial: x.serialNumber.toUpperCase(),
    chainKey: keyUri?.slice(keyUri.lastIndexOf(':') + 1),
    notAfter: new Date(x.validTo),
  };
}
