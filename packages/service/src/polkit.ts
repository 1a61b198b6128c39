import { Message, type MessageBus, Variant } from "@jellybrick/dbus-next";
import type { PermissionDeniedError } from "@lifeboat/core";
import { errAsync, okAsync, ResultAsync } from "neverthrow";
import type { AuthorizationUnavailableError } from "./errors.js";
import type { PolkitAction } from "./names.js";

/** The D-Bus message flag a caller sets to say it may wait for a password prompt. */
export const ALLOW_INTERACTIVE_AUTHORIZATION = 0x4;
const CHECK_ALLOW_USER_INTERACTION = 0x1;

/** What {@link checkAuthorization} needs to know of the call being authorized. */
export interface AuthorizationRequest {
  /** The caller's unique bus name (`:1.42`): the polkit subject. */
  readonly sender: string;
  readonly action: PolkitAction;
  /** The caller set {@link ALLOW_INTERACTIVE_AUTHORIZATION}: polkit may ask its agent. */
  readonly interactive: boolean;
}

/**
 * Ask polkit (`org.freedesktop.PolicyKit1.Authority.CheckAuthorization`)
 * whether the caller may do `action`, with the caller's bus name as the
 * subject (polkit resolves it to a process, user and session itself, so a
 * caller cannot claim to be someone else). Anything but a plain "yes" is a
 * refusal; an unreachable polkit is `SERVICE_AUTHORIZATION_UNAVAILABLE`.
 *
 * @example
 * ```ts
 * const ok = await checkAuthorization(bus, { sender: msg.sender, action: POLKIT_ACTIONS.act, interactive: false });
 * if (ok.isErr()) return reply(msg, ok.error); // PERMISSION_DENIED: nothing was done
 * ```
 */
export function checkAuthorization(
  bus: MessageBus,
  request: AuthorizationRequest,
): ResultAsync<void, PermissionDeniedError | AuthorizationUnavailableError> {
  const call = new Message({
    destination: "org.freedesktop.PolicyKit1",
    path: "/org/freedesktop/PolicyKit1/Authority",
    interface: "org.freedesktop.PolicyKit1.Authority",
    member: "CheckAuthorization",
    signature: "(sa{sv})sa{ss}us",
    body: [
      ["system-bus-name", { name: new Variant("s", request.sender) }],
      request.action,
      {},
      request.interactive ? CHECK_ALLOW_USER_INTERACTION : 0,
      "",
    ],
  });
  return ResultAsync.fromPromise(
    bus.call(call),
    (e): AuthorizationUnavailableError => ({
      code: "SERVICE_AUTHORIZATION_UNAVAILABLE",
      message: `polkit could not be asked about ${request.action}: ${e instanceof Error ? e.message : String(e)}. Nothing was done.`,
      action: request.action,
      cause: e instanceof Error ? e.message : String(e),
    }),
  ).andThen((reply) => {
    const result = reply?.body[0] as [boolean, boolean, Record<string, string>] | undefined;
    if (result?.[0] === true) return okAsync(undefined);
    const challenge = result?.[1] === true;
    return errAsync<void, PermissionDeniedError>({
      code: "PERMISSION_DENIED",
      message: challenge
        ? `Not authorized to ${request.action} without authentication (no polkit agent answered). Nothing was done.`
        : `Not authorized to ${request.action}. Nothing was done.`,
      operation: request.action,
    });
  });
}
