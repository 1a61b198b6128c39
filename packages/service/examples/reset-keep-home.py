#!/usr/bin/python3
"""Reset a disk through lifeboatd, keeping /home: inspect, plan, apply, progress, result.

A Python 3 client with the distribution's bindings (python3-dbus, python3-gi):

    reset-keep-home.py /dev/nvme0n1 20261125T200000Z

Prints one JSON object per line (inspect, plan, job, progress..., finished) and
exits 0 when the job succeeded. Uses $DBUS_SYSTEM_BUS_ADDRESS when set.
"""
import json
import sys

import dbus
import dbus.mainloop.glib
from gi.repository import GLib

BUS_NAME = "org.lifeboat.Lifeboat1"
OBJECT_PATH = "/org/lifeboat/Lifeboat1"
MANAGER = "org.lifeboat.Lifeboat1.Manager"
JOB = "org.lifeboat.Lifeboat1.Job"
TIMEOUT = 600  # seconds: Plan and Apply read the whole disk first


def out(**fields):
    print(json.dumps(fields), flush=True)


def main():
    disk, stamp = sys.argv[1], sys.argv[2]
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SystemBus()
    manager = dbus.Interface(bus.get_object(BUS_NAME, OBJECT_PATH), MANAGER)
    loop = GLib.MainLoop()
    job = {"path": None, "success": None}
    seen = []  # signals of any job, kept until we know which job is ours

    def handle(kind, path, args):
        if job["path"] is None:
            seen.append((kind, path, args))
            return
        if path != job["path"]:
            return
        if kind == "progress":
            out(progress=[str(args[0]), str(args[1]), int(args[2]), int(args[3])])
        else:
            job["success"] = bool(args[0])
            out(finished={"success": bool(args[0]), "result": str(args[1]),
                          "error_code": str(args[2]), "error_message": str(args[3])})
            loop.quit()

    # Subscribe before Apply: the first Progress signal follows its reply at once.
    bus.add_signal_receiver(lambda *a, path=None: handle("progress", path, a),
                            signal_name="Progress", dbus_interface=JOB,
                            bus_name=BUS_NAME, path_keyword="path")
    bus.add_signal_receiver(lambda *a, path=None: handle("finished", path, a),
                            signal_name="Finished", dbus_interface=JOB,
                            bus_name=BUS_NAME, path_keyword="path")

    state = json.loads(manager.Inspect(disk, timeout=TIMEOUT))
    factory = state.get("factory") or {}
    out(inspect={"factory": factory.get("product"), "intact": factory.get("intact")})

    request = json.dumps({"kind": "reset-keep-home", "stamp": stamp})
    plan_json, digest = manager.Plan(disk, request, timeout=TIMEOUT)
    plan = json.loads(plan_json)
    out(plan={"digest": str(digest), "steps": [s["kind"] for s in plan["steps"]]})

    try:
        path = manager.Apply(disk, request, digest, timeout=TIMEOUT)
    except dbus.exceptions.DBusException as e:
        out(error={"name": e.get_dbus_name(), "message": e.get_dbus_message()})
        return 2
    job["path"] = str(path)
    out(job=job["path"])
    for kind, p, args in seen:
        handle(kind, p, args)
    if job["success"] is None:
        GLib.timeout_add_seconds(TIMEOUT, loop.quit)
        loop.run()
    return 0 if job["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
