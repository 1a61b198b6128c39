import type { Command } from "commander";
import type { Action } from "../main.js";
import { registerDoctor } from "./doctor.js";

/** Wraps an action into a commander handler. */
export type Wrap = (action: Action) => (...args: unknown[]) => Promise<void>;

/** Add every `lifeboat` command to `program`. */
export function registerCommands(program: Command, wrap: Wrap): void {
  registerDoctor(program, wrap);
}
