/**
 * On a serial console the tty reports a 0×0 window (nothing set its size):
 * the front end then lays out for 80×25 instead of cutting every title to
 * "..." (seen in QEMU on ttyS0). Rendered by Ink itself into a stream that
 * reports that size, as the console's tty does.
 */
import { EventEmitter } from "node:events";
import { RecoveryApp } from "@lifeboat/recovery-ui";
import { render } from "ink";
import { createElement } from "react";
import { describe, expect, it } from "vitest";
import { terminalSize } from "../src/ui.js";
import { fakeBackend, tick } from "./fixtures.js";

/** A stdout like a serial console's tty: a TTY that says it is 0×0. */
class ZeroSizeTty extends EventEmitter {
  readonly isTTY = true;
  columns = 0;
  rows = 0;
  text = "";
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

describe("a console that reports no size", () => {
  it("is taken as 80×25", () => {
    expect(terminalSize({ columns: 0, rows: 0 })).toEqual({ columns: 80, rows: 25 });
    expect(terminalSize({})).toEqual({ columns: 80, rows: 25 });
    expect(terminalSize({ columns: 132, rows: 43 })).toEqual({ columns: 132, rows: 43 });
  });

  it("shows the screen's title whole, not cut to its ellipsis", async () => {
    const stdout = new ZeroSizeTty();
    const stdin = Object.assign(new EventEmitter(), {
      isTTY: true,
      setRawMode: () => {},
      setEncoding: () => {},
      read: () => null,
      ref: () => {},
      unref: () => {},
      resume: () => {},
      pause: () => {},
    });
    const app = render(
      createElement(RecoveryApp, {
        backend: fakeBackend({}).backend,
        locale: "en",
        color: false,
        onExit: () => {},
      }),
      {
        stdout: stdout as unknown as NodeJS.WriteStream,
        stdin: stdin as unknown as NodeJS.ReadStream,
        debug: true,
        patchConsole: false,
        exitOnCtrlC: false,
      },
    );
    try {
      for (let i = 0; i < 50 && !stdout.text.includes("Lifeboat recovery |"); i++) await tick(40);
      expect(stdout.text).toContain("Lifeboat recovery |");
    } finally {
      app.unmount();
    }
  });
});
