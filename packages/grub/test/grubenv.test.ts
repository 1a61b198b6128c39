import { readFile, writeFile } from "node:fs/promises";
import { requireTools, Scratch, sh } from "@lifeboat/testkit";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { GRUBENV_SIZE } from "../src/grubenv.js";
import { editGrubenv, parseGrubenv, renderGrubenv, updateGrubenv } from "../src/index.js";

const scratches: Scratch[] = [];
afterAll(async () => {
  for (const s of scratches) await s.cleanup();
});

async function scratch(): Promise<Scratch> {
  const s = await Scratch.create("lifeboat-grubenv-");
  scratches.push(s);
  return s;
}

describe("grubenv (GRUB environment block) without grub-editenv", () => {
  it("writes byte for byte what grub-editenv writes, and reads what it writes", async () => {
    requireTools("grub-editenv");
    const s = await scratch();
    const file = s.path("grubenv");
    await sh("grub-editenv", [file, "create"]);
    await sh("grub-editenv", [file, "set", "saved_entry=abc-6.1.0", "odd=a\\b\nc", "x="]);
    await sh("grub-editenv", [file, "set", "next_entry=lifeboat-factory-reset"]);
    const theirs = await readFile(file, "utf8");
    expect(theirs.length).toBe(GRUBENV_SIZE);
    const vars = parseGrubenv(theirs)._unsafeUnwrap();
    expect(vars).toEqual([
      ["saved_entry", "abc-6.1.0"],
      ["odd", "a\\b\nc"],
      ["x", ""],
      ["next_entry", "lifeboat-factory-reset"],
    ]);
    expect(renderGrubenv(vars)._unsafeUnwrap()).toBe(theirs);
  });

  it("grub-editenv reads what editGrubenv writes (set, replace, unset, create)", async () => {
    requireTools("grub-editenv");
    const s = await scratch();
    const file = s.path("grubenv");
    (
      await editGrubenv(file, { saved_entry: "0", next_entry: "lifeboat-factory-reset" })
    )._unsafeUnwrap();
    expect((await readFile(file)).length).toBe(1024);
    expect(await sh("grub-editenv", [file, "list"])).toBe(
      "saved_entry=0\nnext_entry=lifeboat-factory-reset\n",
    );
    (await editGrubenv(file, { next_entry: undefined, saved_entry: "b\\s" }))._unsafeUnwrap();
    expect(await sh("grub-editenv", [file, "list"])).toBe("saved_entry=b\\s\n");
    // grub-editenv edits the file we wrote, and we read its edit back.
    await sh("grub-editenv", [file, "set", "next_entry=again"]);
    const after = parseGrubenv(await readFile(file, "utf8"))._unsafeUnwrap();
    expect(after).toEqual([
      ["saved_entry", "b\\s"],
      ["next_entry", "again"],
    ]);
    // Changes decided from what the file holds; undefined writes nothing (same inode, same bytes).
    const before = await readFile(file);
    const seen: string[] = [];
    const kept = await editGrubenv(file, (vars) => {
      seen.push(...vars.map(([k]) => k));
      return undefined;
    });
    expect(kept._unsafeUnwrap()).toEqual(after);
    expect(seen).toEqual(["saved_entry", "next_entry"]);
    expect(await readFile(file)).toEqual(before);
    (
      await editGrubenv(file, (vars) =>
        vars.some(([k, v]) => k === "next_entry" && v === "again") ? { next_entry: undefined } : {},
      )
    )._unsafeUnwrap();
    expect(await sh("grub-editenv", [file, "list"])).toBe("saved_entry=b\\s\n");
  });

  it("round-trips any variables that fit (property)", () => {
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/);
    const value = fc.string({ maxLength: 30 }).filter((v) => !v.includes("\0"));
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(name, value), { maxLength: 8, selector: (t) => t[0] }),
        (vars) => {
          const text = renderGrubenv(vars)._unsafeUnwrap();
          expect(Buffer.byteLength(text)).toBe(1024);
          expect(parseGrubenv(text)._unsafeUnwrap()).toEqual(vars);
        },
      ),
    );
  });

  it("refuses what GRUB cannot hold, with typed errors", async () => {
    expect(renderGrubenv([["a", "x".repeat(1100)]])._unsafeUnwrapErr()).toMatchObject({
      code: "GRUB_ENV_INVALID",
      reason: "too-large",
    });
    expect(renderGrubenv([["a b", "x"]])._unsafeUnwrapErr().reason).toBe("name");
    expect(parseGrubenv("hello")._unsafeUnwrapErr().reason).toBe("signature");
    const s = await scratch();
    await writeFile(s.path("bad"), "not grubenv");
    expect((await editGrubenv(s.path("bad"), { a: "1" }))._unsafeUnwrapErr().code).toBe(
      "GRUB_ENV_INVALID",
    );
    expect(
      updateGrubenv(
        [
          ["a", "1"],
          ["b", "2"],
        ],
        { a: undefined, c: "3", b: "4" },
      ),
    ).toEqual([
      ["b", "4"],
      ["c", "3"],
    ]);
  });
});
