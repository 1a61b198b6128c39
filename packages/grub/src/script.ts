/**
 * A typed tree of the GRUB commands Lifeboat writes, and its renderer.
 *
 * @module
 */
import { err, ok, type Result } from "neverthrow";
import { checkLinuxArgText } from "./cmdline.js";
import {
  GRUB_TOKEN_MAX_BYTES,
  type GrubRenderError,
  type GrubUnrepresentableError,
  unrepresentable,
} from "./errors.js";
import { quoteGrubWord } from "./quote.js";

/** A variable reference inside a word, rendered `"${name}"` (expanded, never split). */
export interface GrubVariable {
  readonly variable: string;
}

/**
 * One GRUB word. A string is literal text. An array joins literal pieces and
 * variable references into one word: `["(", { variable: "root" }, ")/vmlinuz"]`
 * renders `'('"${root}"')/vmlinuz'`.
 */
export type GrubWord = string | readonly (string | GrubVariable)[];

/** Options shared by `menuentry` and `submenu`. */
export interface GrubEntryOptions {
  /** Shown in the menu. Any text: it is quoted. */
  readonly title: string;
  /** `--id`: a stable name for `default=` and `grub-reboot`. */
  readonly id?: string;
  /** `--class` values (theme icons). */
  readonly classes?: readonly string[];
  /** `--hotkey`: a key that boots the entry straight from the menu. */
  readonly hotkey?: string;
  /** `--unrestricted`: bootable without a password when GRUB users are set. */
  readonly unrestricted?: boolean;
  /** `--users`: who may boot it when GRUB users are set. */
  readonly users?: readonly string[];
  readonly body: readonly GrubCommand[];
}

/** A GRUB command Lifeboat can render. */
export type GrubCommand =
  | ({ readonly kind: "menuentry" } & GrubEntryOptions)
  | ({ readonly kind: "submenu" } & GrubEntryOptions)
  | {
      readonly kind: "search";
      readonly by: "fs-uuid" | "label" | "file";
      readonly value: GrubWord;
      /** Variable to set (default `root`). */
      readonly set?: string;
      /** `--no-floppy` (default true). */
      readonly noFloppy?: boolean;
      readonly hints?: readonly string[];
    }
  | { readonly kind: "loopback"; readonly device: string; readonly file: GrubWord }
  | {
      readonly kind: "linux";
      readonly path: GrubWord;
      readonly args: readonly GrubWord[];
      /** `linuxefi` (Fedora's GRUB) instead of `linux`. */
      readonly efi?: boolean;
    }
  | { readonly kind: "initrd"; readonly paths: readonly GrubWord[]; readonly efi?: boolean }
  | { readonly kind: "set"; readonly name: string; readonly value: GrubWord }
  | {
      readonly kind: "if";
      /** A simple command whose exit status decides (e.g. a `search`, or `[`). */
      readonly condition: GrubCommand;
      /** Run when the condition succeeds (named `body`, not `then`, so the object is not a thenable). */
      readonly body: readonly GrubCommand[];
      /** Run otherwise (`else`). */
      readonly elseBody?: readonly GrubCommand[];
    }
  | { readonly kind: "insmod"; readonly module: string }
  | { readonly kind: "configfile"; readonly path: GrubWord }
  | { readonly kind: "command"; readonly name: string; readonly args: readonly GrubWord[] }
  | { readonly kind: "comment"; readonly text: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const COMMAND = /^[A-Za-z_[][A-Za-z0-9_.[\]-]*$/;

type R = Result<string, GrubRenderError>;

function name(value: string, pattern: RegExp): Result<string, GrubUnrepresentableError> {
  if (pattern.test(value)) return ok(value);
  let index = 0;
  while (index < value.length && pattern.test(value.slice(0, index + 1))) index++;
  return err(unrepresentable(value, index, "invalid-name"));
}

function literalText(word: GrubWord): string {
  return typeof word === "string"
    ? word
    : word.map((p) => (typeof p === "string" ? p : `\${${p.variable}}`)).join("");
}

/** GRUB's lexer reads a word of at most GRUB_TOKEN_MAX_BYTES bytes as written, quotes included. */
function fitsLexer(word: GrubWord, rendered: string): Result<string, GrubUnrepresentableError> {
  return Buffer.byteLength(rendered) <= GRUB_TOKEN_MAX_BYTES
    ? ok(rendered)
    : err(unrepresentable(literalText(word), 0, "too-long"));
}

/**
 * Render one word. A word GRUB's lexer cannot read (more than
 * {@link GRUB_TOKEN_MAX_BYTES} bytes as written, quotes included) is
 * `GRUB_UNREPRESENTABLE` with reason `too-long`.
 *
 * @example
 * ```ts
 * renderGrubWord(["(", { variable: "root" }, ")/boot/vmlinuz"]).unwrapOr(""); // `'('"${root}"')/boot/vmlinuz'`
 * ```
 */
export function renderGrubWord(word: GrubWord): Result<string, GrubUnrepresentableError> {
  return renderWordText(word).andThen((rendered) => fitsLexer(word, rendered));
}

function renderWordText(word: GrubWord): Result<string, GrubUnrepresentableError> {
  if (typeof word === "string") return quoteGrubWord(word);
  if (word.length === 0) return ok("''");
  let out = "";
  for (const part of word) {
    if (typeof part === "string") {
      if (part === "") continue;
      const q = quoteGrubWord(part);
      if (q.isErr()) return q;
      // A bare piece next to `"${...}"` is still one word; quote it anyway so a piece like `a` stays plain text.
      out += q.value.startsWith("'") ? q.value : `'${q.value}'`;
    } else {
      const v = name(part.variable, NAME);
      if (v.isErr()) return v;
      out += `"\${${v.value}}"`;
    }
  }
  return ok(out === "" ? "''" : out);
}

function words(list: readonly GrubWord[]): Result<string[], GrubRenderError> {
  const out: string[] = [];
  for (const w of list) {
    const r = renderGrubWord(w);
    if (r.isErr()) return err(r.error);
    out.push(r.value);
  }
  return ok(out);
}

function line(indent: string, parts: readonly GrubWord[], head: readonly string[] = []): R {
  return words(parts).map((ws) => `${indent}${[...head, ...ws].join(" ")}`);
}

function block(commands: readonly GrubCommand[], indent: string): R {
  const out: string[] = [];
  for (const c of commands) {
    const r = renderCommand(c, indent);
    if (r.isErr()) return r;
    out.push(r.value);
  }
  return ok(out.join("\n"));
}

const EMPTY_BLOCK = "unset lifeboat_empty_block";
// grub-script-check 2.06 reads a comment line and its line break as one token: 8189 bytes pass, 8190 not.
const COMMENT_MAX_BYTES = GRUB_TOKEN_MAX_BYTES - 2;

function entry(kind: "menuentry" | "submenu", e: GrubEntryOptions, indent: string): R {
  const opts: GrubWord[] = [];
  for (const c of e.classes ?? []) opts.push("--class", c);
  if (e.id !== undefined) opts.push("--id", e.id);
  if (e.hotkey !== undefined) opts.push("--hotkey", e.hotkey);
  if (e.users !== undefined) opts.push("--users", e.users.join(","));
  if (e.unrestricted) opts.push("--unrestricted");
  // `--` ends the options: a title such as "--class" or "-x" stays a title.
  opts.push("--", e.title);
  const head = line(indent, opts, [kind]);
  if (head.isErr()) return head;
  // GRUB rejects an empty block; `unset` is a core command (never a module), unlike `true`.
  return block(e.body, `${indent}  `).map(
    (body) => `${head.value} {\n${body === "" ? `${indent}  ${EMPTY_BLOCK}` : body}\n${indent}}`,
  );
}

function renderCommand(c: GrubCommand, indent: string): R {
  switch (c.kind) {
    case "menuentry":
    case "submenu":
      return entry(c.kind, c, indent);
    case "search": {
      const set = name(c.set ?? "root", NAME);
      if (set.isErr()) return set;
      const head = ["search"];
      if (c.noFloppy ?? true) head.push("--no-floppy");
      head.push(`--${c.by}`, `--set=${set.value}`);
      const hints = (c.hints ?? []).map((h) => `--hint=${h}`);
      return line(indent, [...hints, c.value], head);
    }
    case "loopback":
      return line(indent, [c.device, c.file], ["loopback"]);
    case "linux": {
      // GRUB joins the words with spaces into the kernel command line, which
      // the kernel splits at tabs and line breaks too: no control characters.
      for (const a of c.args)
        for (const piece of typeof a === "string" ? [a] : a)
          if (typeof piece === "string") {
            const checked = checkLinuxArgText(piece);
            if (checked.isErr()) return err(checked.error);
          }
      return line(indent, [c.path, ...c.args], [c.efi ? "linuxefi" : "linux"]);
    }
    case "initrd":
      return line(indent, c.paths, [c.efi ? "initrdefi" : "initrd"]);
    case "set": {
      const n = name(c.name, NAME);
      if (n.isErr()) return n;
      return renderGrubWord(c.value).map((v) => `${indent}set ${n.value}=${v}`);
    }
    case "insmod":
      return line(indent, [c.module], ["insmod"]);
    case "configfile":
      return line(indent, [c.path], ["configfile"]);
    case "command": {
      const n = name(c.name, COMMAND);
      if (n.isErr()) return n;
      return line(indent, c.args, [n.value]);
    }
    case "comment": {
      const bad = /[\0\r]/.exec(c.text);
      if (bad)
        return err(unrepresentable(c.text, bad.index, bad[0] === "\0" ? "nul" : "carriage-return"));
      const lines = c.text.split("\n").map((l) => `${indent}#${l === "" ? "" : ` ${l}`}`);
      // grub-script-check reads a comment line with its line break as one token.
      const long = lines.find((l) => Buffer.byteLength(l) > COMMENT_MAX_BYTES);
      if (long !== undefined) return err(unrepresentable(c.text, 0, "too-long"));
      return ok(lines.join("\n"));
    }
    case "if": {
      const cond = renderCommand(c.condition, "");
      if (cond.isErr()) return cond;
      const k = c.condition.kind;
      if (k === "comment" || k === "if" || k === "menuentry" || k === "submenu")
        return err(unrepresentable(k, 0, "invalid-name"));
      const then = block(c.body, `${indent}  `);
      if (then.isErr()) return then;
      const other = block(c.elseBody ?? [], `${indent}  `);
      if (other.isErr()) return other;
      // No `true` for an empty branch: stock GRUB images without true.mod print
      // "can't find command `true`". An empty branch is left out instead.
      if (then.value === "")
        return ok(
          other.value === ""
            ? `${indent}${cond.value}`
            : `${indent}if ! ${cond.value}; then\n${other.value}\n${indent}fi`,
        );
      let out = `${indent}if ${cond.value}; then\n${then.value}\n`;
      if (other.value !== "") out += `${indent}else\n${other.value}\n`;
      return ok(`${out}${indent}fi`);
    }
  }
}

/**
 * Render commands as a GRUB script (ending with a newline). Every title and
 * argument is quoted so GRUB reads it back literally; a string GRUB cannot
 * carry is a `GRUB_UNREPRESENTABLE` error, never a broken script.
 *
 * @example
 * ```ts
 * const script = renderGrubScript([
 *   { kind: "menuentry", title: "Recovery", id: "lifeboat-recovery", body: [
 *     { kind: "search", by: "fs-uuid", value: "1234-ABCD" },
 *     { kind: "linux", path: "/vmlinuz", args: ["rd.live.image", "quiet"] },
 *     { kind: "initrd", paths: ["/initrd.img"] },
 *   ] },
 * ]);
 * ```
 */
export function renderGrubScript(commands: readonly GrubCommand[]): R {
  return block(commands, "").map((s) => (s === "" ? "" : `${s}\n`));
}
