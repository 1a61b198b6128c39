import type { ResultAsync } from "neverthrow";
import type { FactoryError } from "../errors.js";
import { Fail } from "./fail.js";

/** Await a ResultAsync inside try/finally code; a failure becomes a thrown {@link Fail}. */
export async function must<T>(result: ResultAsync<T, FactoryError>): Promise<T> {
  const r = await result;
  if (r.isErr()) throw new Fail(r.error);
  return r.value;
}
