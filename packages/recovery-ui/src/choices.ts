import type { LifeboatError, Plan } from "@lifeboat/core";
import type { ResetRequest, SystemState } from "@lifeboat/reset";
import { HOME_SUBVOLUME } from "@lifeboat/reset/layout";
import type { RecoveryMachine } from "./backend.js";
import { plainError } from "./diagnosis.js";
import type { ChoiceId, Messages } from "./messages/catalog.js";
import type { ChoiceOption } from "./screens/choices.js";

/** The choices that run a plan made up front (rescue needs a target first). */
const PLANNED = [
  "reset-keep-home",
  "reset-from-recovery",
  "reset-user-data",
  "full-restore",
] as const;

/** Conservative rates: unpacking the image on the internal disk, copying to a USB drive. */
const UNPACK_BYTES_PER_SECOND = 50e6;
const USB_BYTES_PER_SECOND = 20e6;

/** How long a choice takes, estimated from the sizes it copies; undefined when it copies nothing big. */
export function estimate(id: ChoiceId, state: SystemState, t: Messages): string | undefined {
  const home = state.btrfs?.subvolumes.find((s) => s.path === HOME_SUBVOLUME)?.bytes;
  const [bytes, rate] =
    id === "reset-from-recovery" || id === "full-restore"
      ? [state.recovery?.rootBytes, UNPACK_BYTES_PER_SECOND]
      : id === "rescue"
        ? [home, USB_BYTES_PER_SECOND]
        : [undefined, 1];
  if (bytes === undefined) return undefined;
  return t.estimate(Math.max(1, Math.ceil(bytes / rate / 60)), t.bytes(bytes));
}

/** The choices for a machine, each planned now so an impossible one says why before it is picked. */
export function choiceOptions(
  machine: RecoveryMachine,
  t: Messages,
  stamp: string,
): { options: ChoiceOption[]; plans: Map<ChoiceId, Plan> } {
  const plans = new Map<ChoiceId, Plan>();
  const options: ChoiceOption[] = [];
  if (machine.state.unfinishedPlan) options.push({ id: "resume" });
  const why = (e: LifeboatError) => plainError(e, t);
  for (const kind of PLANNED) {
    const r = machine.plan({ kind, stamp } as ResetRequest);
    if (r.isOk()) plans.set(kind, r.value);
    const option: ChoiceOption = r.isOk() ? { id: kind } : { id: kind, unavailable: why(r.error) };
    options.push(option);
    if (kind === "reset-from-recovery")
      options.push(
        machine.state.btrfs ? { id: "rescue" } : { id: "rescue", unavailable: t.rootMissing },
      );
  }
  // "Undo the last reset" only when a reset kept the system it replaced.
  if ((machine.state.keptRoots ?? []).length > 0) {
    const r = machine.plan({ kind: "undo-reset", stamp });
    if (r.isOk()) plans.set("undo-reset", r.value);
    options.push(r.isOk() ? { id: "undo-reset" } : { id: "undo-reset", unavailable: why(r.error) });
  }
  options.push({ id: "shell" }, { id: "restart" }, { id: "power-off" });
  return {
    options: options.map((o) => {
      const time = estimate(o.id, machine.state, t);
      return time === undefined ? o : { ...o, time };
    }),
    plans,
  };
}
