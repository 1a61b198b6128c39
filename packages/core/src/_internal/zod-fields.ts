import { z } from "zod";
import type { ParseFailedError } from "../errors.js";

/** A number that older tools print as a string ("4096"); null/absent become undefined. */
export const looseNumber = z
  .union([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/)])
  .transform(Number)
  .nullish()
  .transform((v) => v ?? undefined);

/** A boolean that older tools print as "0"/"1"; null/absent become undefined. */
export const looseBoolean = z
  .union([z.boolean(), z.number(), z.string()])
  .transform((v) => v === true || v === 1 || v === "1" || v === "true")
  .nullish()
  .transform((v) => v ?? undefined);

/** A string; null/absent become undefined (numbers are tolerated and stringified). */
export const looseString = z
  .union([z.string(), z.number()])
  .transform(String)
  .nullish()
  .transform((v) => v ?? undefined);

/** Turn zod issues into short `path: message` lines. */
export function zodIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`);
}

/** A PARSE_FAILED error for `source`. */
export function parseFailed(
  source: string,
  issues: readonly string[],
  cause?: unknown,
): ParseFailedError {
  return {
    code: "PARSE_FAILED",
    message: `Could not understand the output of ${source}: ${issues[0] ?? "unknown shape"}`,
    source,
    issues,
    ...(cause === undefined ? {} : { cause }),
  };
}

/** JSON.parse text (or accept an already parsed value) into a Result-like tuple. */
export function parseJsonInput(
  input: string | unknown,
  source: string,
): { ok: true; value: unknown } | { ok: false; error: ParseFailedError } {
  if (typeof input !== "string") return { ok: true, value: input };
  try {
    return { ok: true, value: JSON.parse(input) };
  } catch (e) {
    return {
      ok: false,
      error: parseFailed(source, [`not JSON: ${e instanceof Error ? e.message : String(e)}`], e),
    };
  }
}
