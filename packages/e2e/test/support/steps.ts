/** What every e2e test prints and how it unwraps a library Result. */
import { formatError, type LifeboatError } from "@lifeboat/core";
import type { Result } from "neverthrow";

/** A `say(text)` printing `[<tag> <seconds since now>s] text`. */
export function stepLogger(tag: string): (text: string) => void {
  const started = Date.now();
  return (text) => {
    const s = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
    console.log(`[${tag} ${s}s] ${text}`);
  };
}

/** The value of a (promised) Result; throws with the formatted error otherwise (a failed set-up fails the test). */
export async function must<T, E extends LifeboatError>(
  r: Result<T, E> | PromiseLike<Result<T, E>>,
): Promise<T> {
  const v = await r;
  if (v.isErr()) throw new Error(formatError(v.error));
  return v.value;
}
