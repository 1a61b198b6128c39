/** Where a rescue copy goes: a directory on external media, with its measured free space. */
export interface RescueTarget {
  /** A mounted directory on the external disk. */
  readonly directory: string;
  /** Free bytes there (measure with `describeRescueTarget`). */
  readonly freeBytes: number;
  /** The filesystem type there; `"btrfs"` allows a received copy instead of a stream file. */
  readonly fsType?: string;
}

/** Fields every reset request has. */
interface Stamped {
  /**
   * A UTC time stamp naming this reset's subvolumes (`root.old-<stamp>`), e.g.
   * `20261125T200000Z`. Passed in so the planner stays pure.
   */
  readonly stamp: string;
}

/** Reset the system from the factory snapshot, keeping /home. */
export interface ResetKeepHomeRequest extends Stamped {
  readonly kind: "reset-keep-home";
}

/** An explicit override of the anti-rollback check (service engineers); the caller records it. */
export interface AllowRollback {
  /** Why: shown in the plan's warnings and written to the rollback log. */
  readonly reason: string;
}

/** Reset the system from the verified recovery image, keeping /home. */
export interface ResetFromRecoveryRequest extends Stamped {
  readonly kind: "reset-from-recovery";
  /** Unpack the set even when its security epoch is below `RecoveryState.epochFloor`. */
  readonly allowRollback?: AllowRollback;
}

/** Rebuild everything but the ESP and the recovery partition: user data is gone. */
export interface FullRestoreRequest extends Stamped {
  readonly kind: "full-restore";
  /** Unpack the set even when its security epoch is below `RecoveryState.epochFloor`. */
  readonly allowRollback?: AllowRollback;
}

/** Delete and re-create home, optionally after a rescue copy. */
export interface ResetUserDataRequest extends Stamped {
  readonly kind: "reset-user-data";
  readonly rescueTo?: RescueTarget;
}

/** Copy /home (or chosen paths under it) to external media and verify the copy. */
export interface RescueRequest extends Stamped {
  readonly kind: "rescue";
  readonly target: RescueTarget;
  /** Paths relative to home to copy; all of home when absent. */
  readonly paths?: readonly string[];
  /** `"tree"` (plain files, default) or `"send-stream"` (one `btrfs send` file). */
  readonly format?: "tree" | "send-stream";
}

/** Delete the old roots (`root.old-*`) kept by earlier resets. */
export interface CleanupRequest {
  readonly kind: "cleanup";
}

/**
 * Roll the system back to a checkpoint, keeping /home (the factory snapshot
 * is the checkpoint `factory`).
 */
export interface RollbackRequest extends Stamped {
  readonly kind: "rollback";
  /** The checkpoint's id (see `listCheckpoints`). */
  readonly checkpoint: string;
}

/**
 * Undo a reset: put back the root it replaced and kept (`root.old-<stamp>`)
 * and the /boot payload kept beside it, keeping /home. The root in use now
 * is kept in turn (as `root.old-<this request's stamp>`, with its /boot
 * payload), so the undo can itself be undone.
 */
export interface UndoResetRequest extends Stamped {
  readonly kind: "undo-reset";
  /** The stamp of the reset to undo (its `root.old-<stamp>`); default: the newest kept root. */
  readonly reset?: string;
}

/** What a person asked for. */
export type ResetRequest =
  | ResetKeepHomeRequest
  | ResetFromRecoveryRequest
  | FullRestoreRequest
  | ResetUserDataRequest
  | RescueRequest
  | CleanupRequest
  | RollbackRequest
  | UndoResetRequest;

/** The request kinds, in the order a UI shows them. */
export const RESET_REQUEST_KINDS = [
  "reset-keep-home",
  "reset-from-recovery",
  "full-restore",
  "reset-user-data",
  "rescue",
  "cleanup",
  "rollback",
  "undo-reset",
] as const;
