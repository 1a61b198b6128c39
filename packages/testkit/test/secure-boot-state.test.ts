import { describe, expect, it } from "vitest";
import { kernelSecureBootStates, secureBootMismatch, secureBootOf } from "../src/qemu.js";

// Every QEMU boot asserts the guest's Secure Boot state from its kernel's line (issue #21).
describe("the guest's Secure Boot state from the serial console", () => {
  const on = "[    0.000000] secureboot: Secure boot enabled\n";
  const off = "[    0.000000] secureboot: Secure boot disabled\n";

  it("reads each kernel's line in order", () => {
    expect(kernelSecureBootStates(`${on}x\n${off}`)).toEqual(["enabled", "disabled"]);
    expect(kernelSecureBootStates("GRUB\n")).toEqual([]);
  });

  it("reads a line whose state word or prefix lost one character on a loaded serial port", () => {
    expect(kernelSecureBootStates("[    0.000000] secureboot: Secure boot enabld\n")).toEqual([
      "enabled",
    ]);
    expect(kernelSecureBootStates("[    0.000000] secureboot: Secure boot disabed\n")).toEqual([
      "disabled",
    ]);
    expect(kernelSecureBootStates("[    0.000000] secureboot: Secure bot enabled\n")).toEqual([
      "enabled",
    ]);
    // not a Secure Boot line, or a word too far from either state
    expect(kernelSecureBootStates("[    1.0] systemd: enabled unit foo\n")).toEqual([]);
    expect(kernelSecureBootStates("[    0.0] secureboot: Secure boot unknown\n")).toEqual([]);
    expect(
      secureBootMismatch("[ 0.0] secureboot: Secure boot enabld\n", true, true),
    ).toBeUndefined();
  });

  it("a kernel that saw the other state is a mismatch; no kernel yet only when complete", () => {
    expect(secureBootMismatch(on, true, true)).toBeUndefined();
    expect(secureBootMismatch(`${on}${off}`, true, false)).toMatch(/Secure boot disabled/);
    expect(secureBootMismatch(on, false, false)).toMatch(/Secure boot enabled/);
    expect(secureBootMismatch("", true, false)).toBeUndefined();
    expect(secureBootMismatch("", true, true)).toMatch(/no guest kernel/);
    expect(secureBootMismatch("", false, true)).toBeUndefined();
  });

  it("enforced by default with OVMF; opt-out explicit; never with a direct kernel boot or BIOS", () => {
    expect(secureBootOf({ timeoutMs: 1 })).toBe(true);
    expect(secureBootOf({ timeoutMs: 1, secureBoot: false })).toBe(false);
    expect(secureBootOf({ timeoutMs: 1, firmware: "bios", kernel: "k" })).toBe(false);
    expect(secureBootOf({ timeoutMs: 1, kernel: "k", secureBoot: false })).toBe(false);
    expect(() => secureBootOf({ timeoutMs: 1, kernel: "k" })).toThrow(/secureBoot: false/);
    expect(() => secureBootOf({ timeoutMs: 1, firmware: "bios", secureBoot: true })).toThrow();
  });
});
