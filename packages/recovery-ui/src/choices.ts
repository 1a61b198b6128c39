import type { LifeboatError, Plan } from "@lifeboat/core";
import type { ResetRequest } from "@lifeboat/reset";
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
  options.push({ id: "shell" }, { id: "restart" }, { id: "power-off" });
  return { options, plans };
}
