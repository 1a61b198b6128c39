import { type Key, useInput } from "ink";
import { useCallback, useRef } from "react";

/**
 * `useInput` whose handler always sees the latest render: Ink re-subscribes a
 * changed handler only after the render's effects run, so a fast typist (or
 * a terminal test) would otherwise reach a stale one.
 */
export function useKeys(handler: (input: string, key: Key) => void): void {
  const ref = useRef(handler);
  ref.current = handler;
  const stable = useCallback((input: string, key: Key) => ref.current(input, key), []);
  useInput(stable);
}
