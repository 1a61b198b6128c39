#!/usr/bin/env python3
"""Reset a machine to its factory state, keeping /home, through `lifeboat --json`.

A client in another language needs only the CLI and its JSON documents:

  1. `lifeboat --json inspect`   what is on the disk (factory snapshot, unfinished run)
  2. `lifeboat --json plan`      the plan: its steps, what it destroys, its digest
  3. a person (or --yes) agrees to exactly that plan
  4. `lifeboat --json --progress json apply --yes --confirm <digest>`
     progress as JSON lines on stderr, one result document on stdout

Every document is checked against the JSON Schema the CLI ships
(`lifeboat schema <command>` prints it; the package has them in schemas/).
Exit status: 0 when the reset ran, else the CLI's exit code (2: usage,
3: confirmation refused, 4: plan refused, ...), with the error's code printed.

    python3 reset_keep_home.py --disk disk.img [--lifeboat lifeboat] [--yes]
"""

import argparse
import json
import subprocess
import sys
from datetime import datetime, timezone

import jsonschema  # Debian: python3-jsonschema; elsewhere: pip install jsonschema


def schema_of(lifeboat, command):
    """The JSON Schema of `command`'s success document, from the CLI itself."""
    out = subprocess.run([lifeboat, "--json", "schema", *command.split(" ")],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["data"]["schema"]


def run(lifeboat, args, progress=None):
    """Run `lifeboat --json ARGS`; return its one document, checked against its schema."""
    argv = [lifeboat, "--json"] + (["--progress", "json"] if progress else []) + args
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    if progress:
        for line in proc.stderr:
            if line.startswith("{"):
                progress(json.loads(line))
    stdout, _ = proc.communicate()
    doc = json.loads(stdout)
    name = doc["command"] if doc["ok"] else "failure"
    jsonschema.validate(doc, schema_of(lifeboat, name))
    if not doc["ok"]:
        err = doc["error"]
        print(f"lifeboat {args[0]}: {err['code']}: {err['message']}", file=sys.stderr)
        sys.exit(doc["exitCode"])
    return doc["data"]


def show_progress(event):
    kind = event.get("type")
    if kind == "step-started":
        print(f"  {event['stepIndex'] + 1}/{event['totalSteps']} {event['title']}")
    elif kind == "step-progress" and event.get("bytesTotal"):
        print(f"    {100 * event['bytesDone'] // event['bytesTotal']}%")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disk", required=True, help="disk image file or whole-disk device")
    parser.add_argument("--lifeboat", default="lifeboat", help="the lifeboat program")
    parser.add_argument("--stamp", help="time stamp of the reset (default: now)")
    parser.add_argument("--yes", action="store_true", help="do not ask")
    opts = parser.parse_args()
    stamp = opts.stamp or datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")

    state = run(opts.lifeboat, ["inspect", "--disk", opts.disk, "--no-sizes"])["state"]
    factory = state.get("factory") or {}
    print(f"factory snapshot: {'intact' if factory.get('intact') else 'missing or damaged'}")
    if state.get("unfinishedPlan"):
        print("an unfinished run is on this disk: resume or abandon it first", file=sys.stderr)
        return 5

    planned = run(opts.lifeboat, ["plan", "--disk", opts.disk, "--stamp", stamp])
    plan = planned["plan"]
    print(plan["title"])
    for step in plan["steps"]:
        for loss in step["destroys"]:
            print(f"  destroys: {loss['what']}")
    print(f"digest: {planned['digest']}")
    if not opts.yes and input("Type RESET to run exactly this plan: ").strip() != "RESET":
        print("nothing was done")
        return 1

    done = run(opts.lifeboat, ["apply", "--disk", opts.disk, "--stamp", stamp, "--yes",
                               "--confirm", planned["digest"]], progress=show_progress)
    print(f"reset done: {len(done['summary']['ranStepIds'])} steps, plan {done['summary']['planDigest']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
