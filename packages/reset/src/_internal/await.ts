import type { IoFailedError } from "@lifeboat/core";
import { type Result, ResultAsync } from "neverthrow";
import type { ResetError } from "../errors.js";

class Thrown {
  constructor(readonly error: ResetError) {}
}

/** End the whole {@link effect} with this error (a typed `throw`). */
export function fail(error: ResetError): never {
  throw new Thrown(error);
}

/** Unwrap a result inside {@link effect}: an error ends the whole effect with that error. */
export async function must<T, E extends ResetError>(
  r: ResultAsync<T, E> | Result<T, E> | Promise<Result<T, E>>,
): Promise<T> {
  const settled = await r;
  if (settled.isErr()) fail(settled.error);
  return settled.value;
}

/**
 * Run async code that uses {@link must} and {@link fail}, as a ResultAsync.
 * Anything else thrown (a Node.js error) becomes `IO_FAILED`, so the error
 * stays inside the closed {@link ResetError} union.
 */
export function effect<T>(work: () => Promise<T>, what: string): ResultAsync<T, ResetError> {
  return ResultAsync.fromPromise(work(), (e): ResetError => {
    if (e instanceof Thrown) return e.error;
    return unexpectedThrow(e, what);
  });
}

function unexpectedThrow(e: unknown, what: string): IoFailedError {
  const fields =
    typeof e === "object" && e !== null ? (e as { code?: unknown; path?: unknown }) : {};
  return {
    code: "IO_FAILED",
    message: `${what}: ${e instanceof Error ? e.message : String(e)}`,
    cause: e,
    path: typeof fields.path === "string" ? fields.path : "",
    operation: what,
    errno: typeof fields.code === "string" ? fields.code : undefined,
  };
}
