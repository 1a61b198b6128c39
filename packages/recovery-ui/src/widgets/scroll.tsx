import { Text } from "ink";
import { useRef, useState } from "react";
import { type Glyphs, useUi } from "../ui.js";
import { useKeys } from "./keys.js";

/** One line of a scrolling screen's text, before it is wrapped to the screen's width. */
export interface Line {
  readonly text: string;
  /** Shown with the tone's glyph (and colour), like `Toned`. */
  readonly tone?: "ok" | "info" | "warn" | "bad";
  readonly bold?: boolean;
  readonly dim?: boolean;
}

/** A line wrapped to one screen row. */
export interface Row extends Omit<Line, "tone"> {
  readonly color?: "green" | "yellow" | "red";
}

const COLORS = { ok: "green", info: undefined, warn: "yellow", bad: "red" } as const;

/** `text` in rows of at most `width` characters, broken between words (a longer word is cut); rows after the first start with `indent`. */
export function wrap(text: string, width: number, indent = ""): string[] {
  const w = Math.max(8, width);
  const rows: string[] = [];
  let row = /^\s*/.exec(text)?.[0] ?? "";
  let empty = true;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (empty) row += word;
    else if (row.length + 1 + word.length <= w) row += ` ${word}`;
    else {
      rows.push(row);
      row = `${indent}${word}`;
    }
    empty = false;
    while (row.length > w) {
      rows.push(row.slice(0, w));
      row = `${indent}${row.slice(w)}`;
    }
  }
  rows.push(row);
  return rows;
}

/** Rows the frame takes around a screen's text: borders, title and its gap, and the keys line with its gap when there is one. */
export const frameRows = (keys: boolean): number => (keys ? 6 : 4);

/** Lines as screen rows: each wrapped to `width`, a toned line led by its glyph and indented after. */
export function toRows(
  lines: readonly Line[],
  width: number,
  glyphs: Glyphs,
  color: boolean,
): Row[] {
  return lines.flatMap((l) => {
    const text = l.tone ? `${glyphs.tone[l.tone]} ${l.text}` : l.text;
    const indent = l.tone ? "  " : (/^\s*/.exec(l.text)?.[0] ?? "");
    const c = color && l.tone ? COLORS[l.tone] : undefined;
    return wrap(text, width, indent).map((r) => ({
      text: r,
      ...(l.bold ? { bold: true } : {}),
      ...(l.dim ? { dim: true } : {}),
      ...(c ? { color: c } : {}),
    }));
  });
}

/** Where a scrolling text is: its first shown row, and whether its last row has been shown. */
export interface ScrollState {
  readonly top: number;
  /** How many rows are shown at once; undefined: all (the text fits, or the height is unknown). */
  readonly height: number | undefined;
  /** Whether the last row has been on the screen (always true when everything fits). */
  readonly seenEnd: () => boolean;
  /** Whether Up/Down scroll too (not on a screen whose menu they move). */
  readonly arrows: boolean;
}

/**
 * Scrolls `total` rows through `room` rows of screen: PgUp/PgDn (and, with
 * `arrows`, Up/Down) move. When the text does not fit, two of the rows go to
 * the "more above" and "more below" marks. Unknown `room` (a console that
 * reports no size): nothing is cut, nothing scrolls.
 */
export function useScroll(
  total: number,
  room: number | undefined,
  options: { arrows: boolean },
): ScrollState {
  const height = room === undefined || total <= room ? undefined : Math.max(1, room - 2);
  const [top, setTopState] = useState(0);
  const topRef = useRef(0);
  const seen = useRef(height === undefined);
  const maxTop = height === undefined ? 0 : total - height;
  const clamped = Math.min(top, maxTop);
  if (height === undefined || clamped + height >= total) seen.current = true;
  useKeys((input, key) => {
    if (height === undefined) return;
    const page = Math.max(1, height - 1);
    let next = topRef.current;
    if (key.pageDown) next += page;
    else if (key.pageUp) next -= page;
    else if (options.arrows && key.downArrow) next += 1;
    else if (options.arrows && key.upArrow) next -= 1;
    else return;
    void input;
    next = Math.max(0, Math.min(maxTop, next));
    topRef.current = next;
    if (next + height >= total) seen.current = true;
    setTopState(next);
  });
  return { top: clamped, height, seenEnd: () => seen.current, arrows: options.arrows };
}

/** The shown part of `rows`, between the "more above" and "more below" marks when they do not all fit. */
export function ScrollWindow(props: { rows: readonly Row[]; scroll: ScrollState }) {
  const { t, glyphs } = useUi();
  const { top, height } = props.scroll;
  const shown = height === undefined ? props.rows : props.rows.slice(top, top + height);
  return (
    <>
      {height === undefined ? null : (
        <Text dimColor>{top > 0 ? `${glyphs.up} ${t.moreAbove} ${glyphs.up}` : " "}</Text>
      )}
      {shown.map((r, i) => (
        <Text
          // biome-ignore lint/suspicious/noArrayIndexKey: rows are positions on the screen
          key={i}
          wrap="truncate-end"
          bold={r.bold ?? false}
          dimColor={r.dim ?? false}
          {...(r.color ? { color: r.color } : {})}
        >
          {r.text === "" ? " " : r.text}
        </Text>
      ))}
      {height === undefined ? null : (
        <Text bold>
          {top + height < props.rows.length
            ? `${glyphs.down} ${t.moreBelow} ${glyphs.down}   ${props.scroll.arrows ? t.keysScroll : t.keysScrollPages}`
            : " "}
        </Text>
      )}
    </>
  );
}
