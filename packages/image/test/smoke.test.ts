import { Scratch } from "@lifeboat/testkit";
import { afterAll, expect, test } from "vitest";
import { generateKeyPair, verifyImageSet } from "../src/index.js";
import { buildFixtureSet } from "./fixtures/build-set.js";

const scratch = await Scratch.create("lifeboat-image-smoke-");
afterAll(() => scratch.cleanup());

test("build, sign, verify a small set", async () => {
  const key = generateKeyPair();
  const set = await buildFixtureSet({
    dir: scratch.path("set"),
    sourceDir: "/usr/share/doc/apt",
    key,
    boot: true,
  });
  expect(set.manifest.files.length).toBe(4);
  const v = await verifyImageSet(scratch.path("set"), { trustedKeys: [key.publicKey] });
  if (v.isErr()) throw new Error(JSON.stringify(v.error));
  expect(v.value.mode).toBe("full");
  const s = await verifyImageSet(scratch.path("set"), {
    trustedKeys: [key.publicKey],
    mode: { sample: 0.05 },
  });
  expect(s.isOk()).toBe(true);
});
