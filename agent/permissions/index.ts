/** Permissions on the device: grants, the control and listener APIs, the owner's revocation. */
export {
  type CheckPolicy,
  checkAtBus,
  checkGrantState,
  checkInterlocks,
  checkRate,
  checkRules,
  checkScope,
  checkSignedRequest,
  type LiveSignal,
  REFUSAL_CODES,
  type Refusal,
  type RefusalCode,
} from './checks.js';
export {
  CONTROL_COUNTERS,
  CONTROL_QUEUE_DEFAULTS,
  type ControlQueuePolicy,
  ControlService,
  type ControlServiceOptions,
} from './control-service.js';
export {
  type ClockFloorStore,
  type ClockStatus,
  DEVICE_CLOCK_DEFAULTS,
  DeviceClock,
  type DeviceClockOptions,
  type ReferenceTime,
} from './device-clock.js';
export {
  chainVehicleId,
  decodeGrantBundle,
  encodeGrantBundle,
  GrantError,
  type GrantRefusalCode,
  MAX_GRANT_BYTES,
  type VerifiedGrant,
  verifyGrantBundle,
  verifyOwnerRevoke,
} from './grant.js';
export {
  type ChainGrantRecord,
  GrantRegistry,
  type GrantState,
  grantEndMs,
  grantState,
  type HeldGrant,
  type InstallResult,
} from './grant-registry.js';
export {
  BASE_TERMS,
  DEFAULT_CHAIN_ID,
  type IssueGrantOptions,
  issueGrant,
  signOwnerRevoke,
} from './issue.js';
export { LISTEN_COUNTERS, ListenerHub, type ListenerHubOptions } from './listener-hub.js';
export { GNSS_TIME_PATH, PERMISSION_COUNTERS, Permissions, type PermissionsOptions } from './permissions.js';
export { dbcEncoder, type LoadedProfile, loadProfileFile } from './profile-file.js';
export {
  RefusalSummary,
  type RefusalSummaryOptions,
  SUMMARY_WINDOW_MS,
  UNAUTHENTICATED_CODES,
} from './refusal-summary.js';
export { decodeTerms, encodeTerms, type GrantTerms, quantize, termsHash } from './terms.js';
export { type PermissionTopics, permissionTopics } from './topics.js';
