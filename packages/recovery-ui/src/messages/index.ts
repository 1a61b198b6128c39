import type { Messages } from "./catalog.js";
import { de } from "./de.js";
import { en } from "./en.js";

/** The languages the front end speaks, by code. */
export const LOCALES = { en, de } as const satisfies Record<string, Messages>;

/** A language code of {@link LOCALES}. */
export type Locale = keyof typeof LOCALES;

/**
 * The language asked for on a kernel command line (`lifeboat.lang=de`, also
 * `lifeboat.lang=de_DE.UTF-8`), when it is one the front end speaks.
 *
 * @example
 * ```ts
 * localeFromCmdline("quiet lifeboat.lang=de_DE.UTF-8"); // "de"
 * localeFromCmdline("quiet"); // undefined: show the language screen
 * ```
 */
export function localeFromCmdline(cmdline: string): Locale | undefined {
  for (const arg of cmdline.trim().split(/\s+/)) {
    if (!arg.startsWith("lifeboat.lang=")) continue;
    const code = arg.slice("lifeboat.lang=".length).split(/[_.-]/)[0]?.toLowerCase() ?? "";
    if (code in LOCALES) return code as Locale;
  }
  return undefined;
}
