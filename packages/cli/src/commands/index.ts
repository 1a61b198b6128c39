import type { Command } from "commander";
import type { Action } from "../main.js";
import { registerCheckpoint } from "./checkpoint.js";
import { registerDoctor } from "./doctor.js";
import { registerGpt } from "./gpt.js";
import { registerGrub } from "./grub.js";
import { registerImage } from "./image.js";
import { registerInspect } from "./inspect.js";
import { registerMedia } from "./media.js";
import { registerProvision } from "./provision.js";
import { registerRecovery } from "./recovery.js";
import { registerReset } from "./reset.js";
import { registerResetSchedule } from "./reset-schedule.js";
import { registerSchema } from "./schema.js";
import { registerSubvol } from "./subvol.js";
import { registerUpdate } from "./update.js";

/** Wraps an action into a commander handler. */
export type Wrap = (action: Action) => (...args: unknown[]) => Promise<void>;

/** Add every `lifeboat` command to `program`. */
export function registerCommands(program: Command, wrap: Wrap): void {
  registerInspect(program, wrap);
  registerGpt(program, wrap);
  registerSubvol(program, wrap);
  registerImage(program, wrap);
  registerGrub(program, wrap);
  registerProvision(program, wrap);
  registerReset(program, wrap);
  registerUpdate(program, wrap);
  registerDoctor(program, wrap);
  registerRecovery(program, wrap);
  registerCheckpoint(program, wrap);
  registerMedia(program, wrap);
  registerResetSchedule(program, wrap);
  registerSchema(program, wrap);
}
