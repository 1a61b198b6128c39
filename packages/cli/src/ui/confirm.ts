import * as prompts from "@clack/prompts";
import { err, ok, type Result } from "neverthrow";
import type { CliContext } from "../context.js";

/** The error when a person did not confirm, or no confirmation could be asked for. */
export interface NotConfirmedError {
  readonly code: "CLI_NOT_CONFIRMED";
  readonly message: string;
}

/**
 * Ask a person to type `word` before something destructive. Without a
 * terminal there is no one to ask: the caller must pass `--yes --confirm <digest>`.
 */
export async function confirmByTyping(
  ctx: CliContext,
  word: string,
  what: string,
): Promise<Result<void, NotConfirmedError>> {
  if (!ctx.interactive || !process.stdin.isTTY) {
    return err({
      code: "CLI_NOT_CONFIRMED",
      message: `Refusing to ${what} without confirmation. Run it on a terminal, or pass --yes --confirm <digest> with the digest of the plan you reviewed.`,
    });
  }
  const answer = await prompts.text({
    message: `Type ${word} to ${what} (anything else cancels)`,
    placeholder: word,
  });
  if (prompts.isCancel(answer) || answer.trim() !== word) {
    return err({ code: "CLI_NOT_CONFIRMED", message: "Not confirmed: nothing was changed." });
  }
  return ok(undefined);
}
