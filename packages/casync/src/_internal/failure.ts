import { abortedError, ioError } from "@lifeboat/core/lite";
import type { CasyncError } from "../errors.js";

/** Carries a typed error through internal async code; converted to a Result at the boundary. */
export class Failure extends Error {
  constructor(readonly error: CasyncError) {
    super(error.message);
  }
}

/** Throw a typed failure. */
export function fail(error: CasyncError): never {
  throw new Failure(error);
}

/** Throw ABORTED when the signal fired. */
export function checkAborted(signal: AbortSignal | undefined, during: string): void {
  if (signal?.aborted) fail(abortedError(during, signal.reason));
}

/** Map anything thrown inside an operation to a {@link CasyncError}. */
export function toCasyncError(e: unknown, path: string, operation: string): CasyncError {
  if (e instanceof Failure) return e.error;
  if (e instanceof Error && e.name === "AbortError") return abortedError(operation, e);
  return ioError(e, path, operation);
}
