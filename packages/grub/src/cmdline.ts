/**
 * Kernel command lines (`options` in BLS entries): split, join, and edit
 * arguments such as `rootflags=subvol=`.
 *
 * @module
 */
import { err, ok, type Result } from "neverthrow";
import { type GrubUnrepresentableError, unrepresentable } from "./errors.js";

/**
 * Split a kernel command line the way the kernel does: on spaces, except
 * inside double quotes (the quotes stay part of the argument text).
 *
 * @example
 * ```ts
 * parseKernelCommandLine('root=UUID=1 rootflags=subvol=root quiet'); // ["root=UUID=1", "rootflags=subvol=root", "quiet"]
 * parseKernelCommandLine('a="b c" d'); // ['a="b c"', "d"]
 * ```
 */
export function parseKernelCommandLine(line: string): string[] {
  const out: string[] = [];
  let current = "";
  let quoted = false;
  for (const c of line) {
    if (c === '"') quoted = !quoted;
    if (!quoted && (c === " " || c === "\t" || c === "\n")) {
      if (current !== "") out.push(current);
      current = "";
    } else current += c;
  }
  if (current !== "") out.push(current);
  return out;
}

/**
 * Join arguments into a command line. An argument with a space must carry
 * its own double quotes (`a="b c"`); a line break, NUL or unbalanced quote
 * cannot be expressed and is a `GRUB_UNREPRESENTABLE` error.
 *
 * @example
 * ```ts
 * renderKernelCommandLine(["ro", "rootflags=subvol=root"]).unwrapOr(""); // "ro rootflags=subvol=root"
 * ```
 */
export function renderKernelCommandLine(
  args: readonly string[],
): Result<string, GrubUnrepresentableError> {
  for (const a of args) {
    const bad = /[\0\r\n]/.exec(a);
    if (bad) return err(unrepresentable(a, bad.index, bad[0] === "\0" ? "nul" : "line-break"));
    const split = parseKernelCommandLine(a);
    if (split.length !== 1 || split[0] !== a || (a.split('"').length - 1) % 2 !== 0)
      return err(unrepresentable(a, Math.max(0, a.search(/[ \t"]/)), "invalid-name"));
  }
  return ok(args.join(" "));
}

/**
 * The key of an argument: the text before the first `=` (or the whole argument).
 *
 * @example
 * ```ts
 * kernelArgKey("rootflags=subvol=root"); // "rootflags"
 * ```
 */
export function kernelArgKey(arg: string): string {
  const eq = arg.indexOf("=");
  return eq < 0 ? arg : arg.slice(0, eq);
}

/**
 * Set `key=value` (or a bare `key` when `value` is `true`), replacing every
 * earlier `key…`; `undefined` removes it. The first occurrence keeps its place.
 *
 * @example
 * ```ts
 * setKernelArg(["ro", "quiet"], "systemd.factory_reset", "1"); // ["ro", "quiet", "systemd.factory_reset=1"]
 * setKernelArg(["ro", "quiet"], "quiet", undefined); // ["ro"]
 * ```
 */
export function setKernelArg(
  args: readonly string[],
  key: string,
  value: string | true | undefined,
): string[] {
  const arg = value === undefined ? undefined : value === true ? key : `${key}=${value}`;
  const out: string[] = [];
  let placed = false;
  for (const a of args) {
    if (kernelArgKey(a) !== key) out.push(a);
    else if (!placed && arg !== undefined) {
      out.push(arg);
      placed = true;
    }
  }
  if (!placed && arg !== undefined) out.push(arg);
  return out;
}

/**
 * Point `rootflags=` at another Btrfs subvolume: sets `subvol=` in its comma
 * list, drops `subvolid=` (which would win over the path and boot the old
 * root), keeps the other flags. Adds `rootflags=subvol=…` when absent.
 *
 * @example
 * ```ts
 * setRootflagsSubvol(["ro", "rootflags=subvolid=256,compress=zstd:1"], "root");
 * // ["ro", "rootflags=compress=zstd:1,subvol=root"]
 * ```
 */
export function setRootflagsSubvol(args: readonly string[], subvol: string): string[] {
  const current = args.find((a) => kernelArgKey(a) === "rootflags");
  const flags = (current === undefined ? "" : current.slice("rootflags=".length))
    .split(",")
    .filter((f) => f !== "" && !f.startsWith("subvol=") && !f.startsWith("subvolid="));
  const next = [...flags, `subvol=${subvol}`].join(",");
  return setKernelArg(args, "rootflags", next);
}

/**
 * The subvolume `rootflags=subvol=` names, if any.
 *
 * @example
 * ```ts
 * rootflagsSubvol(["ro", "rootflags=compress=zstd:1,subvol=root"]); // "root"
 * ```
 */
export function rootflagsSubvol(args: readonly string[]): string | undefined {
  const current = args.find((a) => kernelArgKey(a) === "rootflags");
  return current
    ?.slice("rootflags=".length)
    .split(",")
    .find((f) => f.startsWith("subvol="))
    ?.slice("subvol=".length);
}
