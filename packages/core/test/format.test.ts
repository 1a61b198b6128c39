/** formatBytes: its default output (used by the CLI and every error message) and a front end's decimal separator. */
import { describe, expect, it } from "vitest";
import { formatBytes } from "../src/index.js";

describe("formatBytes", () => {
  it("keeps its default output", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(8n * 1024n ** 3n)).toBe("8.0 GiB");
    expect(formatBytes(200 * 1024 ** 2)).toBe("200 MiB");
  });

  it("takes a language's decimal separator", () => {
    expect(formatBytes(1536, { decimalSeparator: "," })).toBe("1,5 KiB");
    expect(formatBytes(1.5 * 1024 ** 3, { decimalSeparator: "," })).toBe("1,5 GiB");
    expect(formatBytes(200 * 1024 ** 2, { decimalSeparator: "," })).toBe("200 MiB");
    expect(formatBytes(512, { decimalSeparator: "," })).toBe("512 B");
  });
});
