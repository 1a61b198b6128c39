import type { GrubEnv } from "@lifeboat/grub";
import { RESET_ENTRY_ID, SAVED_ENTRY_KEPT } from "../layout.js";

/** grubenv changes for `editGrubenv`: a value sets, `undefined` unsets. */
export type GrubenvChanges = Readonly<Record<string, string | undefined>>;

const varOf = (vars: GrubEnv, name: string) => vars.find(([k]) => k === name)?.[1];

/**
 * What `reset schedule` writes: the next boot takes the reset entry
 * (`next_entry`, which GRUB clears as it boots it), and so does every boot
 * after it until `run-scheduled` starts (`saved_entry`, which GRUB does not
 * clear): a power cut between GRUB clearing `next_entry` and the unit starting
 * brings the next boot back to the reset. The system's own `saved_entry` is
 * kept in {@link SAVED_ENTRY_KEPT} (empty when it had none); scheduling again
 * does not overwrite it with the reset entry.
 */
export function armedChanges(vars: GrubEnv): GrubenvChanges {
  const saved = varOf(vars, "saved_entry");
  return {
    next_entry: RESET_ENTRY_ID,
    saved_entry: RESET_ENTRY_ID,
    ...(saved === RESET_ENTRY_ID ? {} : { [SAVED_ENTRY_KEPT]: saved ?? "" }),
  };
}

/**
 * The reset entry let go of: `next_entry` unset when it is the reset entry,
 * `saved_entry` given back when it is still the reset entry (a kernel update
 * that chose another default is left alone), the kept value removed.
 * `undefined` when nothing in `vars` is the schedule's.
 */
export function releasedChanges(vars: GrubEnv): GrubenvChanges | undefined {
  const changes: Record<string, string | undefined> = {};
  if (varOf(vars, "next_entry") === RESET_ENTRY_ID) changes.next_entry = undefined;
  const kept = varOf(vars, SAVED_ENTRY_KEPT);
  if (varOf(vars, "saved_entry") === RESET_ENTRY_ID)
    changes.saved_entry = kept === undefined || kept === "" ? undefined : kept;
  if (kept !== undefined) changes[SAVED_ENTRY_KEPT] = undefined;
  return Object.keys(changes).length === 0 ? undefined : changes;
}

/**
 * What `run-scheduled` writes as it starts the reset: the one boot after this
 * one takes the reset entry (`next_entry`: a power cut during the reset
 * resumes it), and `saved_entry` is given back, so that a reset that cannot
 * finish does not hold every later boot.
 */
export function oneShotChanges(vars: GrubEnv): GrubenvChanges {
  return { ...releasedChanges(vars), next_entry: RESET_ENTRY_ID };
}
