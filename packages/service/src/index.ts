/**
 * `lifeboatd`: the Lifeboat system service on D-Bus (`org.lifeboat.Lifeboat1`), with a polkit check on every call, so unprivileged front ends can inspect, plan, apply and resume.
 *
 * @module @lifeboat/service
 */
export type { AuthorizationUnavailableError } from "./errors.js";
export { dbusErrorName } from "./errors.js";
export { Job, type JobState } from "./job.js";
export type { MachineAccess } from "./machine.js";
export { INTERFACE_VERSION, ManagerInterface } from "./manager.js";
export {
  BUS_NAME,
  ERROR_PREFIX,
  JOB_INTERFACE,
  JOBS_PATH,
  MANAGER_INTERFACE,
  OBJECT_PATH,
  POLKIT_ACTIONS,
  type PolkitAction,
} from "./names.js";
export { ALLOW_INTERACTIVE_AUTHORIZATION } from "./polkit.js";
export type { CheckpointPruneRequest, ServiceRequest } from "./request.js";
export type { ScheduledOnDisk } from "./schedule.js";
export { type RunningService, type ServiceOptions, startService } from "./service.js";
export type { VerifyResult } from "./verify.js";
