/**
 * Kernel command lines (`options` in BLS entries): split, join, and edit
 * arguments such as `rootflags=subvol=`.
 *
 * @module
 */
import { err, ok, type Result } from "neverthrow";
import {
  badKernelArgs,
  GRUB_TOKEN_MAX_BYTES,
  type GrubBadKernelArgsError,
  type GrubRenderError,
  unrepresentable,
} from "./errors.js";

/**
 * Index of the first control character (C0 or DEL) in `text`, or -1. The
 * kernel splits its command line at tabs and line breaks, and GRUB cannot
 * carry NUL or CR: no kernel argument may hold one.
 *
 * @internal
 */
export function controlCharacterAt(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return i;
  }
  return -1;
}

/**
 * Check one argument of a rendered `linux` command (a literal GRUB word):
 * a control character is `GRUB_BAD_KERNEL_ARGS` (`control-character`).
 *
 * @internal
 */
export function checkLinuxArgText(text: string): Result<string, GrubBadKernelArgsError> {
  const at = controlCharacterAt(text);
  return at < 0 ? ok(text) : err(badKernelArgs(text, at, "control-character"));
}

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
 * Check one kernel argument in the kernel's own syntax (a BLS `options`
 * word): `GRUB_BAD_KERNEL_ARGS` for a control character (tab, line break,
 * NUL, ...), an odd `"`, or a space outside double quotes; an argument of
 * more than {@link GRUB_TOKEN_MAX_BYTES} bytes is `GRUB_UNREPRESENTABLE`
 * (`too-long`: Fedora's `blscfg` hands `options` to GRUB's script lexer).
 *
 * @example
 * ```ts
 * checkKernelArg('a="b c"').isOk(); // true
 * checkKernelArg("a\tb")._unsafeUnwrapErr().reason; // "control-character"
 * ```
 */
export function checkKernelArg(arg: string): Result<string, GrubRenderError> {
  const control = checkLinuxArgText(arg);
  if (control.isErr()) return err(control.error);
  let quoted = false;
  for (let i = 0; i < arg.length; i++) {
    if (arg[i] === '"') quoted = !quoted;
    else if (arg[i] === " " && !quoted) return err(badKernelArgs(arg, i, "space"));
  }
  if (quoted) return err(badKernelArgs(arg, arg.lastIndexOf('"'), "unbalanced-quote"));
  if (Buffer.byteLength(arg) > GRUB_TOKEN_MAX_BYTES)
    return err(unrepresentable(arg, 0, "too-long"));
  return ok(arg);
}

/**
 * Join arguments into a command line. An argument with a space must carry
 * its own double quotes (`a="b c"`); what {@link checkKernelArg} refuses
 * (a tab, line break or other control character, an odd quote, a bare
 * space) is a typed error.
 *
 * @example
 * ```ts
 * renderKernelCommandLine(["ro", "rootflags=subvol=root"]).unwrapOr(""); // "ro rootflags=subvol=root"
 * ```
 */
export function renderKernelCommandLine(args: readonly string[]): Result<string, GrubRenderError> {
  for (const a of args) {
    const checked = checkKernelArg(a);
    if (checked.isErr()) return err(checked.error);
  }
  return ok(args.join(" "));
}

/**
 * The word GRUB's `linux` command needs for a kernel argument written in the
 * kernel's syntax (`a="b c"`): its double quotes removed (`a=b c`). GRUB
 * puts an argument holding a space in double quotes itself when it builds
 * the command line (`"a=b c"`, which the kernel reads as `a` = `b c`); left
 * in, the quotes would be doubled and split the argument. Fedora's `blscfg`
 * does the same to a BLS `options` line (its script reader drops them).
 *
 * @example
 * ```ts
 * kernelArgToGrubWord('lifeboat.msg="a b"'); // "lifeboat.msg=a b"
 * kernelArgToGrubWord("quiet"); // "quiet"
 * ```
 */
export function kernelArgToGrubWord(arg: string): string {
  return arg.replaceAll('"', "");
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
