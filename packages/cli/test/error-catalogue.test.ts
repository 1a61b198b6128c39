// docs/error-codes.md is generated from the sources (issues #19, #23): this test fails when a
// code is added, removed, re-documented or gets another exit code and the catalogue was not
// regenerated with `pnpm errors:catalogue`.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  CATALOGUE_PATH,
  collectErrors,
  renderCatalogue,
} from "../../../scripts/error-catalogue.js";
import { ExitCode } from "../src/exit-codes.js";

describe("the generated error catalogue", () => {
  const entries = collectErrors();

  it("is what the sources give (run `pnpm errors:catalogue` after changing an error)", () => {
    expect(readFileSync(CATALOGUE_PATH, "utf8")).toBe(renderCatalogue(entries));
  });

  it("holds every package's codes, each once, most with their declaring type and its summary", () => {
    const codes = entries.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of ["COMMAND_FAILED", "GPT_NO_SPACE", "BTRFS_RECEIVE_FAILED", "CLI_USAGE"])
      expect(codes).toContain(code);
    const typed = entries.filter((e) => e.type !== undefined);
    expect(typed.length / entries.length).toBeGreaterThan(0.9);
    for (const e of typed) expect(e.doc, `${e.code} (${e.type}) has no TSDoc summary`).not.toBe("");
  });

  it("gives each code the CLI's own exit code", () => {
    const text = readFileSync(CATALOGUE_PATH, "utf8");
    expect(text).toContain(`| \`GPT_NO_SPACE\` | ${ExitCode.Precondition} |`);
    expect(text).toContain(`| \`CONFIRMATION_MISMATCH\` | ${ExitCode.NotConfirmed} |`);
    expect(text).toContain(`| \`IMAGE_BAD_SIGNATURE\` | ${ExitCode.VerificationFailed} |`);
  });
});
