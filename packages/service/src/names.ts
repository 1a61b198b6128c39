/** The well-known name lifeboatd owns on the system bus. */
export const BUS_NAME = "org.lifeboat.Lifeboat1";
/** The object carrying the {@link MANAGER_INTERFACE}. */
export const OBJECT_PATH = "/org/lifeboat/Lifeboat1";
/** Inspect, plan and apply (version 1: a new, incompatible interface gets a new number). */
export const MANAGER_INTERFACE = "org.lifeboat.Lifeboat1.Manager";
/** The interface of each job object, under {@link JOBS_PATH}. */
export const JOB_INTERFACE = "org.lifeboat.Lifeboat1.Job";
/** Parent of the job objects (`/org/lifeboat/Lifeboat1/jobs/<n>`). */
export const JOBS_PATH = `${OBJECT_PATH}/jobs`;
/** D-Bus error names are this prefix and a Lifeboat error code, e.g. `…Error.LOCK_HELD`. */
export const ERROR_PREFIX = "org.lifeboat.Lifeboat1.Error";

/** The polkit actions of the `.policy` file, one per kind of power. */
export const POLKIT_ACTIONS = {
  /** Read the machine's state (`Inspect`). */
  read: "org.lifeboat.Lifeboat1.read",
  /** Make a plan (`Plan`): reads the disk, changes nothing. */
  plan: "org.lifeboat.Lifeboat1.plan",
  /** Run a plan (`Apply`, `Resume`, `Abandon`, `Rescue`): destructive. */
  act: "org.lifeboat.Lifeboat1.act",
  /** Schedule a reset for the next boot, or cancel it (`Schedule`, `Unschedule`): destructive at the next boot. */
  schedule: "org.lifeboat.Lifeboat1.schedule",
  /** Replace the recovery image set with a newer signed one (`Update`). */
  update: "org.lifeboat.Lifeboat1.update",
} as const;

/** A polkit action id of {@link POLKIT_ACTIONS}. */
export type PolkitAction = (typeof POLKIT_ACTIONS)[keyof typeof POLKIT_ACTIONS];
