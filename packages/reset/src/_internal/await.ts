import { isLifeboatError, type LifeboatError } from "@lifeboat/core";
import { type Result, ResultAsync } from "neverthrow";

class Thrown {
  constructor(readonly error: LifeboatError) {}
}

/** Unwrap a result inside {@link effect}: an error ends the whole effect with that error. */
export async function must<T, E extends LifeboatError>(
  r: ResultAsync<T, E> | Result<T, E> | Promise<Result<T, E>>,
): Promise<T> {
  const settled = await r;
  if (settled.isErr()) throw new Thrown(settled.error);
  return settled.value;
}

/** Run async code that uses {@link must}, as a ResultAsync. */
export function effect<T>(work: () => Promise<T>, what: string): ResultAsync<T, LifeboatError> {
  return ResultAsync.fromPromise(work(), (e) => {
    if (e instanceof Thrown) return e.error;
    if (isLifeboatError(e)) return e;
    return {
      code: "IO_FAILED",
      message: `${what}: ${e instanceof Error ? e.message : String(e)}`,
      cause: e,
    };
  });
}
