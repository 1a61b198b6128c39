import { createContext, useContext } from "react";
import type { Messages } from "./messages/catalog.js";
import { en } from "./messages/en.js";

/** Glyphs for consoles with and without box drawing and symbols. */
export interface Glyphs {
  readonly border: "single" | "classic";
  readonly pointer: string;
  readonly tone: {
    readonly ok: string;
    readonly info: string;
    readonly warn: string;
    readonly bad: string;
  };
  readonly barDone: string;
  readonly barTodo: string;
  /** Ends a line cut to the screen's width. */
  readonly ellipsis: string;
  /** Marks text above what a scrolling screen shows. */
  readonly up: string;
  /** Marks text below what a scrolling screen shows. */
  readonly down: string;
}

const UNICODE: Glyphs = {
  border: "single",
  pointer: "›",
  tone: { ok: "✓", info: "·", warn: "!", bad: "✗" },
  barDone: "█",
  barTodo: "░",
  ellipsis: "…",
  up: "↑",
  down: "↓",
};

const ASCII: Glyphs = {
  border: "classic",
  pointer: ">",
  tone: { ok: "+", info: "-", warn: "!", bad: "x" },
  barDone: "#",
  barTodo: ".",
  ellipsis: "...",
  up: "^",
  down: "v",
};

/** What every screen reads: the language, the glyphs, whether colour is used. */
export interface UiSettings {
  readonly t: Messages;
  readonly glyphs: Glyphs;
  readonly color: boolean;
}

/** The settings for a language, an ASCII-only console, and colour on or off. */
export function uiSettings(t: Messages, options: { ascii: boolean; color: boolean }): UiSettings {
  return { t, glyphs: options.ascii ? ASCII : UNICODE, color: options.color };
}

/** The settings context every screen reads. */
export const UiContext = createContext<UiSettings>(uiSettings(en, { ascii: false, color: true }));

/** The current settings. */
export const useUi = (): UiSettings => useContext(UiContext);

/** `text` cut to `width` characters, ending in the glyphs' ellipsis when it was cut. */
export function fit(text: string, width: number, glyphs: Glyphs): string {
  if (text.length <= width) return text;
  return `${text.slice(0, Math.max(0, width - glyphs.ellipsis.length))}${glyphs.ellipsis}`;
}

/**
 * The terminal's size, 80×25 when it reports none: a serial console's tty
 * says 0×0 (nothing set its window size), and a width of 0 would cut every
 * title to "...".
 */
export function terminalSize(stdout: { columns?: number; rows?: number }): {
  columns: number;
  rows: number;
} {
  return { columns: stdout.columns || 80, rows: stdout.rows || 25 };
}

/**
 * The terminal's height when it reports one; undefined on a console that says
 * 0×0 (a serial console): nothing is cut there, so nothing scrolls.
 */
export function knownRows(stdout: { rows?: number }): number | undefined {
  return stdout.rows ? stdout.rows : undefined;
}
