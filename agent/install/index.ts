/**
 * `qood init`: sets up a Pi or any Debian device to run the agent (user, config with the adapter
 * found, udev rules, CAN bring-up, the unit, the device key), as a plan that a dry run prints and
 * a second run finds done.
 */

export { type AccountsView, fileEditor, readAccounts } from './accounts.js';
export { type AdapterRole, BY_ID_DIR, classifyById, type FoundAdapter, findAdapters } from './adapters.js';
export { InstallError, type InstallErrorCode } from './install-error.js';
export {
  AGENT_CONFIG,
  AGENT_UNIT,
  AGENT_USER,
  type InitOptions,
  type InitPlan,
  type InitStep,
  planInit,
  runPlan,
  SERIAL_GROUP,
  UDEV_RULES,
} from './plan.js';
export {
  DEVICE_KINDS,
  type DeviceKind,
  EXAMPLE_CONFIG,
  renderAgentUnit,
  renderCanNetwork,
  renderConfig,
  UDEV_GNSS_LINK,
  UDEV_OBD_LINK,
} from './render.js';
