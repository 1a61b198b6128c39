#!/usr/bin/python3
"""Make many calls to lifeboatd, each with an explicit signature, and report each outcome.

Reads a JSON list of {"method", "signature", "args"} on stdin; prints a JSON
list of {"ok": bool, "name": error name or "", "message": first 300 chars}.
"""
import json
import sys

import dbus

bus = dbus.SystemBus()
obj = bus.get_object("org.lifeboat.Lifeboat1", "/org/lifeboat/Lifeboat1", introspect=False)
results = []
for case in json.load(sys.stdin):
    method = obj.get_dbus_method(case["method"], "org.lifeboat.Lifeboat1.Manager")
    try:
        method(*case["args"], signature=case["signature"], timeout=600)
        results.append({"ok": True, "name": "", "message": ""})
    except dbus.exceptions.DBusException as e:
        results.append({"ok": False, "name": e.get_dbus_name() or "",
                        "message": (e.get_dbus_message() or "")[:300]})
print(json.dumps(results))
