import { requireTools } from "@lifeboat/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type GrubCommand, quoteGrubWord, renderGrubScript } from "../src/index.js";
import { grubScriptCheck } from "./_support/check.js";
import { expectedEchoPattern, runGrubEmu } from "./_support/grub-emu.js";

// Characters GRUB's lexer treats specially, plus line breaks, tabs and non-ASCII.
const nasty = fc.constantFrom(
  "'",
  '"',
  "\\",
  "$",
  ";",
  "\n",
  "\t",
  "{",
  "}",
  " ",
  "#",
  "`",
  "|",
  "&",
  "<",
  ">",
  "(",
  ")",
  "[",
  "]",
  "*",
  "?",
  "!",
  "~",
  "=",
  "-",
  "é",
  "€",
  "😀",
  "\u0301",
  "\u200f",
  "\x1b",
  "\x7f",
  "a",
);
const representable = fc
  .oneof(
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.string({ unit: nasty, maxLength: 40 }),
    fc.string({ unit: "binary-ascii", maxLength: 40 }),
    fc.constantFrom(
      "if",
      "fi",
      "menuentry",
      "--class",
      "-n",
      "",
      "'",
      "''",
      "\\'",
      "$" + "{root}",
      "a\\\nb",
    ),
  )
  .filter((s) => !/[\0\r]/.test(s));

/** The kernel splits its command line at tabs and line breaks: kernel arguments get none. */
const noControl = (v: string) =>
  [...v].map((c) => (c.charCodeAt(0) < 0x20 || c === "\x7f" ? "_" : c)).join("");

const BATCH = 500;
const RUNS = 20; // 20 batches x 500 strings = 10,000 cases

describe("quoting in real GRUB (grub-script-check and grub-emu)", () => {
  it(`renders ${BATCH * RUNS} arbitrary strings as titles and kernel arguments that GRUB reads back byte for byte`, async () => {
    requireTools("grub-script-check", "grub-emu");
    let seen = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(representable, { minLength: BATCH, maxLength: BATCH }),
        async (values) => {
          const commands: GrubCommand[] = [];
          values.forEach((v, i) => {
            commands.push({
              kind: "command",
              name: "echo",
              args: [`<<B${i}>>`, v, `<<E${i}>>`],
            });
          });
          const echoes = renderGrubScript(commands)._unsafeUnwrap();
          const entries = renderGrubScript(
            values.map((v, i) => ({
              kind: "menuentry",
              title: v,
              id: `e${i}`,
              classes: [v],
              body: [
                { kind: "search", by: "fs-uuid", value: v },
                // Kernel arguments cannot hold control characters (lexer-limits.test.ts).
                { kind: "linux", path: "/vmlinuz", args: [noControl(v), `x=${noControl(v)}`] },
                { kind: "initrd", paths: [v] },
              ],
            })),
          )._unsafeUnwrap();
          const check = await grubScriptCheck(`${entries}${echoes}`);
          expect(check, check.stderr).toEqual({ code: 0, stderr: "" });
          const out = (await runGrubEmu(echoes)).toString("latin1");
          values.forEach((v, i) => {
            const start = out.indexOf(`<<B${i}>> `);
            const end = out.indexOf(` <<E${i}>>\n\r`, start);
            if (start < 0) {
              const prev = out.indexOf(`<<E${i - 1}>>`);
              throw new Error(
                `marker ${i} missing; values ${JSON.stringify(values.slice(Math.max(0, i - 1), i + 1))}; output after the last marker: ${JSON.stringify(out.slice(prev, prev + 400))}`,
              );
            }
            const printed = out.slice(start + `<<B${i}>> `.length, end);
            expect(printed, JSON.stringify(v)).toMatch(expectedEchoPattern(v));
            seen++;
          });
        },
      ),
      { numRuns: RUNS, seed: 20261125, endOnFailure: true },
    );
    expect(seen).toBe(BATCH * RUNS);
  }, 180_000);

  it("menu titles reach GRUB's menu unchanged (booting an entry sets $chosen to its title)", async () => {
    requireTools("grub-emu");
    // One grub-emu run per title (an entry that runs `halt`); GRUB keeps no
    // list of titles a script could read otherwise.
    const titles = [
      "--class",
      "-n",
      "a\n#b",
      'it\'s "$x"; {y}',
      "Recovery > options",
      ...fc.sample(representable, { numRuns: 200, seed: 7 }),
    ];
    const queue = [...titles.entries()];
    const worker = async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        const [i, title] = next;
        const script = renderGrubScript([
          { kind: "set", name: "timeout", value: "0" },
          {
            kind: "menuentry",
            title,
            body: [
              {
                kind: "command",
                name: "echo",
                args: [[`<<T${i}>>`, { variable: "chosen" }, `<<E${i}>>`]],
              },
              { kind: "command", name: "halt", args: [] },
            ],
          },
        ])._unsafeUnwrap();
        const out = (await runGrubEmu(script, 30_000, { epilogue: "" })).toString("latin1");
        const m = new RegExp(`<<T${i}>>([\\s\\S]*)<<E${i}>>`).exec(out);
        expect(
          m,
          `title ${JSON.stringify(title)}: ${JSON.stringify(out.slice(-300))}`,
        ).not.toBeNull();
        // $chosen is a menu path: GRUB writes a ">" inside a title as ">>".
        expect(m?.[1] ?? "", JSON.stringify(title)).toMatch(
          expectedEchoPattern(title.replaceAll(">", ">>")),
        );
      }
    };
    await Promise.all([worker(), worker()]);
  }, 120_000);

  it("refuses exactly the strings GRUB cannot carry, with a typed error", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom("a", "\0", "\r", "\ud800", "\udc00", "😀", "'") }),
        (v) => {
          const r = quoteGrubWord(v);
          const bad =
            /[\0\r]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(v);
          expect(r.isErr()).toBe(bad);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
