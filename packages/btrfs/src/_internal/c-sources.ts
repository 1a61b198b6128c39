import { readFileSync } from "node:fs";

/**
 * The C files of `c/`, name to text, when a bundler embedded them (the CLI's
 * tsup `define`): a single-file bundle has no `c/` beside it.
 */
declare const __LIFEBOAT_BTRFS_C__: Readonly<Record<string, string>> | undefined;

// `c/` from dist/index.js (the built package), then from src/_internal/*.ts (tests, tsx).
const C_DIRS = ["../c/", "../../c/"];

/** A helper's C program: its main file and every header it includes with `#include "..."`. */
export interface CProgram {
  /** The main file's name, e.g. `lifeboat-exch.c`. */
  readonly main: string;
  /** Each file's name and text, the main file first. */
  readonly files: ReadonlyMap<string, string>;
}

function readCFile(name: string): string {
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
  throw new Error(
    `@lifeboat/btrfs: the C file ${name} is missing from the package's c/ directory (an incomplete installation or a bundle that did not embed it)`,
  );
}

const LOCAL_INCLUDE = /^#include "([^"/]+)"/gm;
const programs = new Map<string, CProgram>();

/** The C program `main` (a file of the package's `c/`) with its local headers, read once. */
export function cProgram(main: string): CProgram {
  const cached = programs.get(main);
  if (cached) return cached;
  const files = new Map<string, string>();
  const add = (name: string) => {
    if (files.has(name)) return;
    const text = readCFile(name);
    files.set(name, text);
    for (const m of text.matchAll(LOCAL_INCLUDE)) if (m[1]) add(m[1]);
  };
  add(main);
  const program = { main, files };
  programs.set(main, program);
  return program;
}

/** Warnings on; CI compiles the same files with these flags and `-Werror` (scripts/check-c.sh). */
export const HELPER_CFLAGS: readonly string[] = ["-O2", "-Wall", "-Wextra"];
