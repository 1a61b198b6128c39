import { render } from "ink";
import { type HostAction, RecoveryApp, type RecoveryStart } from "./app.js";
import type { RecoveryBackend } from "./backend.js";
import type { Locale } from "./messages/index.js";

/** Options of {@link runRecoveryUi}. */
export interface RunRecoveryUiOptions {
  /** Opens the machine (see `machineBackend`). */
  readonly backend: RecoveryBackend;
  /** The language (e.g. from `localeFromCmdline`); without it the first screen asks. */
  readonly locale?: Locale;
  /**
   * ASCII-only borders and symbols. Default: true on the Linux console and
   * other terminals known to lack the glyphs (`TERM` `linux`, `vt100`, `vt220`, `dumb`).
   */
  readonly ascii?: boolean;
  /** Use colour. Default: false when `NO_COLOR` is set (https://no-color.org). */
  readonly color?: boolean;
  /** The terminal (default `process.stdin` / `process.stdout`). */
  readonly stdin?: NodeJS.ReadStream;
  readonly stdout?: NodeJS.WriteStream;
  /** Where to start once the machine is open (default `diagnosis`; `reset-keep-home` for GRUB's "Reset to factory settings"). */
  readonly start?: RecoveryStart;
  /** The environment the defaults are read from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

const ASCII_TERMS = new Set(["linux", "vt100", "vt102", "vt220", "dumb"]);

/**
 * Run the guided recovery front end full screen on a terminal until the
 * person picks restart, power off or the expert shell; the machine is closed
 * by then, and the screen released, so the host can do what was picked.
 *
 * @example
 * ```ts
 * const action = await runRecoveryUi({ backend: machineBackend(runner, { disk: "/dev/nvme0n1" }) });
 * if (action === "restart") await runner.run("reboot", []);
 * // "Reset to factory settings": straight to the confirmation of a reset keeping /home
 * await runRecoveryUi({ backend, start: "reset-keep-home" });
 * ```
 */
export async function runRecoveryUi(options: RunRecoveryUiOptions): Promise<HostAction> {
  const env = options.env ?? process.env;
  const ascii = options.ascii ?? ASCII_TERMS.has(env.TERM ?? "");
  const color = options.color ?? !env.NO_COLOR;
  let chosen: HostAction = "power-off";
  const app = render(
    <RecoveryApp
      backend={options.backend}
      {...(options.locale ? { locale: options.locale } : {})}
      {...(options.start ? { start: options.start } : {})}
      ascii={ascii}
      color={color}
      onExit={(action) => {
        chosen = action;
        app.unmount();
      }}
    />,
    {
      exitOnCtrlC: false,
      patchConsole: false,
      ...(options.stdin ? { stdin: options.stdin } : {}),
      ...(options.stdout ? { stdout: options.stdout } : {}),
    },
  );
  await app.waitUntilExit();
  return chosen;
}
