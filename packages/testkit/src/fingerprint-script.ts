/**
 * The marker's fingerprint shell function, for guests that compute it
 * themselves (e.g. the recovery environment, chrooted into a restored root).
 *
 * @module
 */
import { MARKER_SCRIPT } from "./_internal/fixture-files.js";

/**
 * The `fingerprint() { … }` shell function of the fixture's marker unit
 * (GNU find, sort, sha256sum), the same text `fixtureFingerprints`
 * runs on the host. Usage: `cd <root> && fingerprint etc usr/bin`.
 *
 * @example
 * ```ts
 * const script = `export LC_ALL=C\n${fingerprintFunction()}\ncd / && fingerprint etc usr/bin\n`;
 * ```
 */
export function fingerprintFunction(): string {
  const fn = /\nfingerprint\(\) \{\n[\s\S]*?\n\}\n/.exec(MARKER_SCRIPT)?.[0];
  if (fn === undefined) throw new Error("marker script has no fingerprint function");
  return fn.trim();
}
