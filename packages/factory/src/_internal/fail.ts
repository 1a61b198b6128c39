import { ioError } from "@lifeboat/core";
import type { FactoryError } from "../errors.js";

/** Carries a typed error through async code written with try/finally; converted back at the boundary. */
export class Fail {
  constructor(readonly error: FactoryError) {}
}

/** The boundary conversion for `ResultAsync.fromPromise`. */
export function toFactoryError(path: string, operation: string): (e: unknown) => FactoryError {
  return (e) => (e instanceof Fail ? e.error : ioError(e, path, operation));
}
