import { describe, expect, it } from "vitest";
import { estimate } from "../src/choices.js";
import { de } from "../src/messages/de.js";
import { en } from "../src/messages/en.js";
import { fakeState } from "./fixtures.js";

describe("estimate: how long a choice takes, from the sizes it copies", () => {
  const base = fakeState();
  const state = fakeState({
    recovery: base.recovery ? { ...base.recovery, rootBytes: 12 * 1024 ** 3 } : undefined,
  });

  it("unpacking the recovery image at 50 MB/s, a rescue copy to USB at 20 MB/s", () => {
    expect(estimate("full-restore", state, en)).toBe("about 5 minutes (12.0 GiB to copy)");
    expect(estimate("reset-from-recovery", state, de)).toBe(
      "etwa 5 Minuten (12,0 GiB zu kopieren)",
    );
    expect(estimate("rescue", state, en)).toBe("about a minute (1.0 GiB to copy)");
  });

  it("nothing to copy, or a size not known: the catalog's phrase is shown instead", () => {
    expect(estimate("reset-keep-home", state, en)).toBeUndefined();
    expect(estimate("full-restore", fakeState({ recovery: undefined }), en)).toBeUndefined();
  });
});
