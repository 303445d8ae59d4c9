/**
 * The telematics provider's fleet tools: the CA that issues broker certificates to vehicles, nodes,
 * grantees and the broker (`qood fleet ca`), and the mosquitto ACL that follows from them.
 */
export { type FleetAclOptions, renderFleetAcl } from './acl.js';
export {
  DEVICE_KEY_URI_PREFIX,
  type FleetCertificateInfo,
  GRANT_URI_PREFIX,
  NODE_KEY_URI_PREFIX,
  readFleetCertificate,
} from './certificate-info.js';
export {
  CA_FILES,
  FleetCa,
  type FleetCaInitOptions,
  type FleetCaOptions,
  type FleetCertificate,
  type IssuedCertificate,
  type IssueOptions,
  type IssueRequest,
  type RevokeRequest,
  TLS_KEY_TYPES,
  type TlsKeyType,
} from './fleet-ca.js';
export { FleetError, type FleetErrorCode } from './fleet-error.js';
export {
  checkGrantId,
  checkNodeName,
  checkVehicleId,
  FLEET_ROLES,
  type FleetRole,
  RESERVED_VEHICLE_IDS,
} from './names.js';
export { type OpensslRunner, opensslRunner } from './openssl.js';
