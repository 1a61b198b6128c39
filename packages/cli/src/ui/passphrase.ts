import type { Writable } from "node:stream";

/** A terminal to read a passphrase from (`process.stdin` when it is a TTY). */
export interface PassphraseInput extends NodeJS.ReadableStream {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

/**
 * Read a passphrase from a terminal without echoing it. Resolves `undefined`
 * when the person presses Ctrl-C or Ctrl-D on an empty line, or when `input`
 * is not a terminal.
 */
export function readPassphrase(
  input: PassphraseInput,
  output: Writable,
  message: string,
): Promise<string | undefined> {
  if (!input.isTTY || typeof input.setRawMode !== "function") return Promise.resolve(undefined);
  const setRaw = input.setRawMode.bind(input);
  output.write(message);
  setRaw(true);
  input.resume();
  return new Promise((resolve) => {
    let typed = "";
    const done = (value: string | undefined) => {
      input.off("data", onData);
      setRaw(false);
      input.pause();
      output.write("\n");
      resolve(value);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of typeof chunk === "string" ? chunk : chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done(typed);
        if (ch === "\u0003" || (ch === "\u0004" && typed === "")) return done(undefined);
        if (ch === "\u007f" || ch === "\b") typed = typed.slice(0, -1);
        else if (ch >= " ") typed += ch;
      }
    };
    input.on("data", onData);
  });
}
