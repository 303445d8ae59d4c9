/** Actuators: vehicle profiles (commands as frame sequences) and their writer on a CAN bus. */
export {
  CanActuator,
  type CanActuatorOptions,
  type EncodeMessage,
  type ExecuteResult,
  type FrameGuard,
  type PlannedFrame,
} from './can-actuator.js';
export { ActuatorError, type ActuatorErrorCode } from './errors.js';
export {
  type ArgSpec,
  INTERLOCK_OPS,
  type InterlockOp,
  type InterlockRule,
  MAX_FRAMES_PER_COMMAND,
  MAX_SEQUENCE_MS,
  type ProfileCommand,
  type ProfileStep,
  parseRule,
  parseVehicleProfile,
  type VehicleProfile,
} from './profile.js';
