import type { ErrorBase, LifeboatError } from "@lifeboat/core";
import { ERROR_PREFIX } from "./names.js";

/** polkit did not answer (not running, or the call failed): nothing was done. */
export interface AuthorizationUnavailableError
  extends ErrorBase<"SERVICE_AUTHORIZATION_UNAVAILABLE"> {
  readonly action: string;
  readonly cause: string;
}

/** The D-Bus error name of a Lifeboat error: {@link ERROR_PREFIX} and its code. */
export function dbusErrorName(error: Pick<LifeboatError, "code">): string {
  const code = /^[A-Z][A-Z0-9_]*$/.test(error.code) ? error.code : "SERVICE_FAILED";
  return `${ERROR_PREFIX}.${code}`;
}
