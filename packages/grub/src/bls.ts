/**
 * Boot Loader Specification snippets (`/boot/loader/entries/*.conf`), as
 * Fedora's GRUB reads them through `blscfg`: parse, edit, render, and write
 * (checked and atomic).
 *
 * @module
 */
import { err, ok, type Result } from "neverthrow";
import { parseKernelCommandLine, renderKernelCommandLine } from "./cmdline.js";
import { factoryResetArgs } from "./entries.js";
import {
  type GrubBlsInvalidError,
  type GrubRenderError,
  type GrubUnrepresentableError,
  unrepresentable,
} from "./errors.js";
import { checkGrubString } from "./quote.js";
import type { GrubCommand } from "./script.js";

/** One line of a BLS snippet: a `key value` field, or a comment/blank line kept as written. */
export type BlsLine =
  | { readonly kind: "field"; readonly key: string; readonly value: string }
  | { readonly kind: "other"; readonly text: string };

/** A BLS snippet, line by line, so edits keep comments and order. */
export interface BlsEntry {
  readonly lines: readonly BlsLine[];
}

const KEY = /^[A-Za-z0-9_-]+$/;

/**
 * Parse a BLS snippet.
 *
 * @example
 * ```ts
 * const e = parseBlsEntry("title Fedora\nlinux /vmlinuz-6.8\noptions root=UUID=1 ro\n")._unsafeUnwrap();
 * blsField(e, "title"); // "Fedora"
 * ```
 */
export function parseBlsEntry(text: string): Result<BlsEntry, GrubBlsInvalidError> {
  const lines: BlsLine[] = [];
  const raw = text.split("\n");
  if (raw.at(-1) === "") raw.pop();
  for (const [i, line] of raw.entries()) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) {
      lines.push({ kind: "other", text: line });
      continue;
    }
    const m = /^([^\s]+)(?:[ \t]+(.*))?$/.exec(trimmed);
    if (!m?.[1] || !KEY.test(m[1]))
      return err({
        code: "GRUB_BLS_INVALID",
        message: `Line ${i + 1} of the BLS entry is not "key value": ${JSON.stringify(line)}`,
        line: i + 1,
        text: line,
      });
    lines.push({ kind: "field", key: m[1], value: (m[2] ?? "").trimEnd() });
  }
  return ok({ lines });
}

/**
 * Render a BLS snippet. A value with a line break, NUL or carriage return
 * is a `GRUB_UNREPRESENTABLE` error.
 *
 * @example
 * ```ts
 * renderBlsEntry(createBlsEntry({ title: "Reset", linux: "/vmlinuz", options: ["ro"] }));
 * ```
 */
export function renderBlsEntry(entry: BlsEntry): Result<string, GrubUnrepresentableError> {
  const out: string[] = [];
  for (const l of entry.lines) {
    if (l.kind === "other") {
      const bad = /[\0\r\n]/.exec(l.text);
      if (bad) return err(unrepresentable(l.text, bad.index, "line-break"));
      out.push(l.text);
      continue;
    }
    if (!KEY.test(l.key)) return err(unrepresentable(l.key, 0, "invalid-name"));
    const bad = /[\n]/.exec(l.value);
    if (bad) return err(unrepresentable(l.value, bad.index, "line-break"));
    const check = checkGrubString(l.value);
    if (check.isErr()) return err(check.error);
    out.push(l.value === "" ? l.key : `${l.key} ${l.value}`);
  }
  return ok(`${out.join("\n")}\n`);
}

/**
 * The value of the first `key` field.
 *
 * @example
 * ```ts
 * blsField(entry, "linux"); // "/vmlinuz-6.8.5-301.fc40.x86_64"
 * ```
 */
export function blsField(entry: BlsEntry, key: string): string | undefined {
  for (const l of entry.lines) if (l.kind === "field" && l.key === key) return l.value;
  return undefined;
}

/**
 * Every value of a repeatable field (`initrd`).
 *
 * @example
 * ```ts
 * blsFields(entry, "initrd"); // ["/initramfs-6.8.5.img"]
 * ```
 */
export function blsFields(entry: BlsEntry, key: string): string[] {
  return entry.lines.flatMap((l) => (l.kind === "field" && l.key === key ? [l.value] : []));
}

/**
 * Set a field: replaces the first `key` line in place (dropping later
 * ones), or appends it; `undefined` removes it.
 *
 * @example
 * ```ts
 * setBlsField(entry, "title", "Reset to factory settings");
 * ```
 */
export function setBlsField(entry: BlsEntry, key: string, value: string | undefined): BlsEntry {
  const lines: BlsLine[] = [];
  let placed = false;
  for (const l of entry.lines) {
    if (l.kind !== "field" || l.key !== key) lines.push(l);
    else if (!placed && value !== undefined) {
      lines.push({ kind: "field", key, value });
      placed = true;
    }
  }
  if (!placed && value !== undefined) lines.push({ kind: "field", key, value });
  return { lines };
}

/**
 * The `options` line as kernel arguments.
 *
 * @example
 * ```ts
 * rootflagsSubvol(blsKernelArgs(entry)); // "root"
 * ```
 */
export function blsKernelArgs(entry: BlsEntry): string[] {
  return parseKernelCommandLine(blsFields(entry, "options").join(" "));
}

/**
 * Replace the `options` line with `args` (e.g. after `setRootflagsSubvol`).
 *
 * @example
 * ```ts
 * setBlsKernelArgs(entry, setRootflagsSubvol(blsKernelArgs(entry), "root"));
 * ```
 */
export function setBlsKernelArgs(
  entry: BlsEntry,
  args: readonly string[],
): Result<BlsEntry, GrubRenderError> {
  return renderKernelCommandLine(args).map((line) => setBlsField(entry, "options", line));
}

/** Fields for {@link createBlsEntry}. */
export interface BlsEntryFields {
  readonly title: string;
  readonly version?: string;
  readonly linux: string;
  readonly initrd?: readonly string[];
  readonly options: readonly string[];
  readonly id?: string;
  readonly grubClass?: string;
  /** `grub_arg`, e.g. `--unrestricted`. */
  readonly grubArg?: string;
  readonly grubUsers?: string;
}

/**
 * Build a BLS entry. Kernel options that cannot go on one line are a typed error.
 *
 * @example
 * ```ts
 * createBlsEntry({ title: "Fedora", linux: "/vmlinuz-6.8", initrd: ["/initramfs-6.8.img"], options: ["ro"] });
 * ```
 */
export function createBlsEntry(fields: BlsEntryFields): Result<BlsEntry, GrubRenderError> {
  return renderKernelCommandLine(fields.options).map((options) => {
    const lines: BlsLine[] = [];
    const add = (key: string, value: string | undefined) => {
      if (value !== undefined) lines.push({ kind: "field", key, value });
    };
    add("title", fields.title);
    add("version", fields.version);
    add("linux", fields.linux);
    for (const i of fields.initrd ?? []) add("initrd", i);
    add("options", options);
    add("id", fields.id);
    add("grub_users", fields.grubUsers);
    add("grub_arg", fields.grubArg);
    add("grub_class", fields.grubClass);
    return { lines };
  });
}

/**
 * A "Reset to factory settings" BLS entry made from the system's own entry:
 * same kernel and initrd, `systemd.factory_reset=1` added (and
 * `rd.systemd.unit=factory-reset.target` when asked), its own title and id.
 *
 * @example
 * ```ts
 * const reset = factoryResetBlsEntry(parseBlsEntry(text)._unsafeUnwrap(), { resetTarget: true });
 * ```
 */
export function factoryResetBlsEntry(
  base: BlsEntry,
  options: { readonly title?: string; readonly id?: string; readonly resetTarget?: boolean } = {},
): Result<BlsEntry, GrubRenderError> {
  const args = blsKernelArgs(base).filter(
    (a) => a !== "systemd.factory_reset=1" && !a.startsWith("rd.systemd.unit="),
  );
  let entry = setBlsField(base, "title", options.title ?? "Reset to factory settings");
  entry = setBlsField(entry, "id", options.id ?? "lifeboat-factory-reset");
  entry = setBlsField(entry, "grub_class", "lifeboat");
  return setBlsKernelArgs(entry, [...args, ...factoryResetArgs(options)]);
}

/**
 * The menu entry GRUB's `blscfg` makes from a BLS snippet (title, `linux`,
 * `initrd`, `options`), as a {@link GrubCommand}: used to check a snippet
 * with `grub-script-check` before it is written.
 *
 * @example
 * ```ts
 * renderGrubScript([blsToMenuEntry(entry)]);
 * ```
 */
export function blsToMenuEntry(entry: BlsEntry): GrubCommand {
  const initrds = blsFields(entry, "initrd").flatMap((v) => v.split(/\s+/).filter(Boolean));
  const body: GrubCommand[] = [
    { kind: "linux", path: blsField(entry, "linux") ?? "", args: blsKernelArgs(entry) },
  ];
  if (initrds.length > 0) body.push({ kind: "initrd", paths: initrds });
  const id = blsField(entry, "id");
  return {
    kind: "menuentry",
    title: blsField(entry, "title") ?? "",
    ...(id === undefined ? {} : { id }),
    body,
  };
}
