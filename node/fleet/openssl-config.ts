/**
 * The openssl configuration texts of the fleet CA: the `openssl ca` section over the CA folder's
 * files, and the X.509 extensions of each role's certificate.
 */
import type { FleetRole } from './names.js';

/** The CA folder's files `caConfigText` names, by role (absolute paths). */
export interface CaConfigFiles {
  readonly database: string;
  readonly certs: string;
  readonly cert: string;
  readonly key: string;
  readonly serial: string;
  readonly crlNumber: string;
}

/** `openssl ca` and `openssl req` configuration for a CA whose files are `f`. */
export function caConfigText(f: CaConfigFiles, crlDays: number): string {
  return [
    '# openssl configuration of a QoodBlock fleet CA (rewritten by `qood fleet ca` on each use).',
    '[ ca ]',
    'default_ca = qood_ca',
    '[ qood_ca ]',
    `database = ${f.database}`,
    `new_certs_dir = ${f.certs}`,
    `certificate = ${f.cert}`,
    `private_key = ${f.key}`,
    `serial = ${f.serial}`,
    `crlnumber = ${f.crlNumber}`,
    'default_md = sha256',
    'default_days = 825',
    `default_crl_days = ${crlDays}`,
    'policy = qood_policy',
    // A replaced device gets a new certificate under the same vehicle id before the old is revoked.
    'unique_subject = no',
    // The CA alone decides the extensions; a request cannot smuggle any in.
    'copy_extensions = none',
    '[ qood_policy ]',
    'organizationalUnitName = supplied',
    'commonName = supplied',
    '[ req ]',
    'distinguished_name = req_dn',
    '[ req_dn ]',
    '[ ca_ext ]',
    // It signs end certificates only: pathlen 0, no intermediate CA can be made under it.
    'basicConstraints = critical, CA:TRUE, pathlen:0',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
    '',
  ].join('\n');
}

/**
 * The `[ ext ]` section of a certificate for `role` with subjectAltNames `san` (`URI:...`, `DNS:...`,
 * `IP:...`): an end certificate for TLS clients, or for the broker's server side.
 */
export function extensionsText(role: FleetRole, san: readonly string[]): string {
  return [
    '[ ext ]',
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    `extendedKeyUsage = ${role === 'broker' ? 'serverAuth' : 'clientAuth'}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
    ...(san.length === 0 ? [] : [`subjectAltName = ${san.join(', ')}`]),
    '',
  ].join('\n');
}
