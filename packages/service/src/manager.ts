import { DBusError, interface as dbus } from "@jellybrick/dbus-next";
import { type IntrospectData, nameArguments } from "./_internal/introspect.js";
import { MANAGER_INTERFACE } from "./names.js";

/** The version of {@link MANAGER_INTERFACE}'s contract, as its `Version` property. */
export const INTERFACE_VERSION = 1;

function notThisWay(): never {
  // Calls are dispatched by the service with the caller's polkit check first
  // (the library's own dispatch does not say who called); fail closed if it
  // ever routes a call here.
  throw new DBusError("org.freedesktop.DBus.Error.AccessDenied", "not dispatched by lifeboatd");
}

/**
 * The description of `org.lifeboat.Lifeboat1.Manager` on `/org/lifeboat/Lifeboat1`:
 * what `Introspect` shows. The calls themselves are handled by {@link startService}.
 */
export class ManagerInterface extends dbus.Interface {
  constructor() {
    super(MANAGER_INTERFACE);
  }
  @dbus.property({ signature: "u", access: dbus.ACCESS_READ })
  get Version(): number {
    return INTERFACE_VERSION;
  }
  @dbus.method({ inSignature: "s", outSignature: "s" })
  Inspect(_disk: string): string {
    return notThisWay();
  }
  @dbus.method({ inSignature: "ss", outSignature: "ss" })
  Plan(_disk: string, _request: string): [string, string] {
    return notThisWay();
  }
  @dbus.method({ inSignature: "sss", outSignature: "o" })
  Apply(_disk: string, _request: string, _digest: string): string {
    return notThisWay();
  }
  @dbus.method({ inSignature: "s", outSignature: "o" })
  Resume(_disk: string): string {
    return notThisWay();
  }
  @dbus.method({ inSignature: "s", outSignature: "s" })
  Abandon(_disk: string): string {
    return notThisWay();
  }
  @dbus.method({ inSignature: "ss", outSignature: "a{sv}ss" })
  PlanDetails(_disk: string, _request: string): [unknown, string, string] {
    return notThisWay();
  }
  @dbus.method({ inSignature: "o", outSignature: "b" })
  Cancel(_job: string): boolean {
    return notThisWay();
  }
  @dbus.method({ inSignature: "s", outSignature: "o" })
  Verify(_disk: string): string {
    return notThisWay();
  }
  @dbus.method({ inSignature: "sss", outSignature: "s" })
  CheckpointCreate(_disk: string, _name: string, _reason: string): string {
    return notThisWay();
  }
  @dbus.method({ inSignature: "ss", outSignature: "s" })
  Schedule(_disk: string, _request: string): string {
    return notThisWay();
  }
  @dbus.method({ inSignature: "s", outSignature: "as" })
  Unschedule(_disk: string): string[] {
    return notThisWay();
  }
  @dbus.method({ inSignature: "s", outSignature: "s" })
  ScheduledReset(_disk: string): string {
    return notThisWay();
  }
  @dbus.method({ inSignature: "sss", outSignature: "ss" })
  PlanRescue(_disk: string, _device: string, _options: string): [string, string] {
    return notThisWay();
  }
  @dbus.method({ inSignature: "ssss", outSignature: "o" })
  Rescue(_disk: string, _device: string, _options: string, _digest: string): string {
    return notThisWay();
  }
  @dbus.method({ inSignature: "sss", outSignature: "o" })
  Update(_disk: string, _directory: string, _digest: string): string {
    return notThisWay();
  }
  override $introspect(): IntrospectData {
    return nameArguments(super.$introspect(), {
      Inspect: ["disk", "state_json"],
      Plan: ["disk", "request_json", "plan_json", "digest"],
      Apply: ["disk", "request_json", "digest", "job"],
      Resume: ["disk", "job"],
      Abandon: ["disk", "abandoned_json"],
      PlanDetails: ["disk", "request_json", "plan", "plan_json", "digest"],
      Cancel: ["job", "cancelled"],
      Verify: ["disk", "job"],
      CheckpointCreate: ["disk", "name", "reason", "checkpoint_json"],
      Schedule: ["disk", "request_json", "scheduled_json"],
      Unschedule: ["disk", "removed"],
      ScheduledReset: ["disk", "scheduled_json"],
      PlanRescue: ["disk", "device", "options_json", "plan_json", "digest"],
      Rescue: ["disk", "device", "options_json", "digest", "job"],
      Update: ["disk", "directory", "digest", "job"],
    });
  }
}
