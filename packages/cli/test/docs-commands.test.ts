/**
 * The docs cannot drift from the CLI: every `lifeboat …` command line in a
 * shell block of README.md and docs/*.md names a real command, and every
 * option it gives is one that command (or the program) takes; so does
 * every `` `lifeboat …` `` in running text. People follow
 * these pages literally; a renamed option would be a usage error on their
 * machine first.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Command, type Option } from "commander";
import { describe, expect, it } from "vitest";
import { registerCommands } from "../src/commands/index.js";

const repo = fileURLToPath(new URL("../../..", import.meta.url));
const SHELL_BLOCK = /^```(?:sh|bash|shell|console)?\s*$/;
/** Inline code that is a command: `` `lifeboat plan --mode …` ``. */
const INLINE = /`((?:sudo )?lifeboat [^`]+)`/g;

/** The program as `main` builds it: its commands and its own options (read from main.ts). */
async function program(): Promise<Command> {
  const root = new Command("lifeboat");
  const main = await readFile(path.join(repo, "packages/cli/src/main.ts"), "utf8");
  for (const m of main.matchAll(/\.option\(\s*"([^"]+)"/g)) root.option(m[1] as string);
  registerCommands(root, () => async () => {});
  return root;
}

/** Shell words of one command (quotes removed), enough for documented command lines. */
function words(line: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else word = (word ?? "") + ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      word ??= "";
    } else if (/\s/.test(ch)) {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else word = (word ?? "") + ch;
  }
  if (word !== undefined) out.push(word);
  return out;
}

/** Each `lifeboat …` invocation in a shell line, as its words after `lifeboat`. */
function invocations(line: string): string[][] {
  const found: string[][] = [];
  // One command per segment of a list or pipeline, and inside $( … ).
  for (const segment of line.split(/&&|\|\||;|\||\$\(|\)/)) {
    const w = words(segment.trim());
    let i = 0;
    while (i < w.length && (/^[A-Z_][A-Z0-9_]*=/.test(w[i] as string) || w[i] === "sudo")) i += 1;
    // `lifeboat` then a command or an option (not prose such as "lifeboat (CLI)").
    if (w[i] === "lifeboat" && /^(-|[a-z])/.test(w[i + 1] ?? "")) found.push(w.slice(i + 1));
  }
  return found;
}

interface Finding {
  readonly where: string;
  readonly command: string;
  readonly problem: string;
}

function allOptions(c: Command): Option[] {
  const out: Option[] = [];
  for (let p: Command | null = c; p; p = p.parent) out.push(...p.options);
  return out;
}

function check(root: Command, args: string[], where: string): Finding[] {
  const findings: Finding[] = [];
  let command = root;
  let positional = false;
  for (let i = 0; i < args.length; i += 1) {
    const a = args[i] as string;
    if (a === "--") break;
    if (a.startsWith("#")) break; // a comment
    if (a.startsWith("-") && a !== "-") {
      const name = a.split("=")[0] as string;
      if (name === "--help" || name === "-h") continue;
      const option = allOptions(command).find((o) => o.long === name || o.short === name);
      if (!option)
        findings.push({
          where,
          command: `lifeboat ${args.join(" ")}`,
          problem: `\`${name}\` is not an option of \`${command.name()}\``,
        });
      else if ((option.required || option.optional) && !a.includes("=")) i += 1;
      continue;
    }
    const sub = positional ? undefined : command.commands.find((c) => c.name() === a);
    if (sub) command = sub;
    else if (command.commands.length > 0 && !positional && command.registeredArguments.length === 0)
      findings.push({
        where,
        command: `lifeboat ${args.join(" ")}`,
        problem: `\`${a}\` is not a command of \`${command.name()}\``,
      });
    if (!sub) positional = true;
  }
  return findings;
}

async function documentedCommands(): Promise<{ where: string; args: string[] }[]> {
  const files = [
    "README.md",
    ...(await readdir(path.join(repo, "docs")))
      .filter((n) => n.endsWith(".md"))
      .map((n) => `docs/${n}`),
  ];
  const out: { where: string; args: string[] }[] = [];
  for (const file of files) {
    const lines = (await readFile(path.join(repo, file), "utf8")).split("\n");
    let inShell = false;
    let fence = false;
    let pending = "";
    for (const [n, raw] of lines.entries()) {
      if (raw.startsWith("```")) {
        if (fence) fence = inShell = false;
        else {
          fence = true;
          inShell = SHELL_BLOCK.test(raw);
        }
        pending = "";
        continue;
      }
      if (!inShell) {
        if (!fence)
          for (const m of raw.matchAll(INLINE))
            for (const args of invocations(m[1] as string))
              out.push({ where: `${file}:${n + 1}`, args });
        continue;
      }
      const line = raw.replace(/^\s*[$#] /, "");
      if (line.endsWith("\\")) {
        pending += `${line.slice(0, -1)} `;
        continue;
      }
      const whole = pending + line;
      pending = "";
      for (const args of invocations(whole)) out.push({ where: `${file}:${n + 1}`, args });
    }
  }
  return out;
}

describe("docs name real commands and options", () => {
  it("every `lifeboat …` line in a shell block of README.md and docs/ parses", async () => {
    const root = await program();
    const commands = await documentedCommands();
    // The pages do show commands: a parser that found none would prove nothing.
    expect(commands.length).toBeGreaterThan(50);
    const findings = commands.flatMap((c) => check(root, c.args, c.where));
    expect(findings).toEqual([]);
  });

  it("finds a misspelt option and an unknown command", async () => {
    const root = await program();
    expect(check(root, ["plan", "--keep-hme"], "x").map((f) => f.problem)).toEqual([
      "`--keep-hme` is not an option of `plan`",
    ]);
    expect(check(root, ["imaeg", "verify"], "x").map((f) => f.problem)).toEqual([
      "`imaeg` is not a command of `lifeboat`",
    ]);
    expect(
      invocations('sudo LIFEBOAT_X=1 lifeboat --json inspect --disk "/dev/my disk" | jq .'),
    ).toEqual([["--json", "inspect", "--disk", "/dev/my disk"]]);
  });
});
