import { readFileSync } from "node:fs";

/**
 * The C files of `c/`, name to text, when the build embedded them (tsup
 * `define`, see scripts/bundle-defines.ts): a bundle, one file in the
 * recovery environment or inside someone's application, has no `c/` beside it.
 */
declare const __LIFEBOAT_BTRFS_C__: Readonly<Record<string, string>> | undefined;

// Else `c/` from dist/index.js (the built package), then from src/_internal/*.ts (tests, tsx).
const C_DIRS = ["../c/", "../../c/"];

/** A helper's C program: its main file and every header it includes with `#include "..."`. */
export interface CProgram {
  /** The main file's name, e.g. `lifeboat-exch.c`. */
  readonly main: string;
  /** Each file's name and text, the main file first. */
  readonly files: ReadonlyMap<string, string>;
}

function readCFile(name: string): string | undefined {
  if (typeof __LIFEBOAT_BTRFS_C__ !== "undefined") {
    const embedded = __LIFEBOAT_BTRFS_C__[name];
    if (embedded !== undefined) return embedded;
  }
  for (const dir of C_DIRS) {
    try {
      return readFileSync(new URL(dir + name, import.meta.url), "utf8");
    } catch {
      // not in this layout; try the next
    }
  }
  return undefined;
}

const LOCAL_INCLUDE = /^#include "([^"/]+)"/gm;
const programs = new Map<string, CProgram | undefined>();

/**
 * The C program `main` (a file of the package's `c/`) with its local
 * headers, read once; `undefined` when a file is missing (a bundle that
 * neither embedded them nor sits beside `c/`): the helper cannot be built.
 */
export function cProgram(main: string): CProgram | undefined {
  if (programs.has(main)) return programs.get(main);
  const files = new Map<string, string>();
  const add = (name: string): boolean => {
    if (files.has(name)) return true;
    const text = readCFile(name);
    if (text === undefined) return false;
    files.set(name, text);
    for (const m of text.matchAll(LOCAL_INCLUDE)) if (m[1] && !add(m[1])) return false;
    return true;
  };
  const program = add(main) ? { main, files } : undefined;
  programs.set(main, program);
  return program;
}

/** Warnings on; CI compiles the same files with these flags and `-Werror` (scripts/check-c.sh). */
export const HELPER_CFLAGS: readonly string[] = ["-O2", "-Wall", "-Wextra"];
