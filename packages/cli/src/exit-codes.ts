/**
 * The `lifeboat` command's exit codes. Stable: scripts branch on them.
 *
 * | code | meaning |
 * | --- | --- |
 * | 0 | success |
 * | 1 | the operation failed (the error's `code` says why) |
 * | 2 | bad usage (unknown command, bad option) |
 * | 3 | confirmation refused or missing: nothing was changed |
 * | 4 | a precondition failed (not enough space, e.g. `GPT_NO_SPACE`; image not verified, target busy; `GPT_RECOVERY_EXISTS`; an older image set, `IMAGE_ROLLBACK`; a boot path Secure Boot would refuse, `SECURE_BOOT_UNBOOTABLE`): nothing was changed |
 * | 5 | verification failed (tampered or corrupt image, bad signature) |
 * | 130 | interrupted (Ctrl-C); a journaled plan can be resumed |
 */
export const ExitCode = {
  Ok: 0,
  Failed: 1,
  Usage: 2,
  NotConfirmed: 3,
  Precondition: 4,
  VerificationFailed: 5,
  Interrupted: 130,
} as const;

/** One of {@link ExitCode}'s values. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit code for an error code. */
export function exitCodeFor(code: string): ExitCodeValue {
  if (
    code === "CONFIRMATION_REQUIRED" ||
    code === "CONFIRMATION_MISMATCH" ||
    code === "CLI_NOT_CONFIRMED"
  ) {
    return ExitCode.NotConfirmed;
  }
  if (code === "ABORTED") return ExitCode.Interrupted;
  if (code === "CLI_USAGE" || code === "INVALID_ARGUMENT") return ExitCode.Usage;
  if (
    code === "PRECONDITION_FAILED" ||
    code === "LOCK_HELD" ||
    code === "GPT_NO_SPACE" ||
    code === "GPT_RECOVERY_EXISTS" ||
    code === "IMAGE_ROLLBACK" ||
    code === "SECURE_BOOT_UNBOOTABLE" ||
    /^RESET_(NO_|INSUFFICIENT|IMAGE_NOT|IMAGE_ROLLBACK|TARGET_BUSY|DISK_IN_USE|WRONG_TARGET|CANNOT_ABANDON)/.test(
      code,
    )
  ) {
    return ExitCode.Precondition;
  }
  if (/^IMAGE_(BAD|UNTRUSTED|SIZE|HASH|MANIFEST)|^CASYNC_CHUNK_(MISMATCH|CORRUPT)/.test(code))
    return ExitCode.VerificationFailed;
  return ExitCode.Failed;
}
