/**
 * Drive GRUB's text menu over the serial console, as a person does with the
 * arrow keys: find the highlighted entry (GRUB marks it with `*` on a
 * terminal), move with Up/Down until the wanted title is highlighted, press
 * Enter; a path of titles walks into submenus. Also small helpers to type
 * into a full-screen program on the console.
 *
 * Test tooling: functions throw on failure (naming the entries seen and the
 * serial log).
 *
 * @module
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Keys, type QemuHandle } from "./qemu.js";

/** A menu title: the exact text (or its start, when GRUB cut it), or a pattern. */
export type MenuTitle = string | RegExp;

/** Options for {@link chooseGrubEntry}. */
export interface ChooseGrubEntryOptions {
  /** How long to wait for the first menu to appear (default 300 s). */
  readonly menuTimeoutMs?: number;
  /** How long the console must stay silent after a key before the screen is read (default 1500 ms). */
  readonly settleMs?: number;
  /** At most this many moves per menu before giving up (default 20). */
  readonly maxMoves?: number;
  /** Progress lines (each menu's highlighted entries), for test output. */
  readonly onProgress?: (line: string) => void;
}

/** What {@link chooseGrubEntry} saw. */
export interface GrubChoice {
  /** The entries highlighted on the way, per menu level. */
  readonly seen: readonly (readonly string[])[];
}

/** GRUB's help line under every menu (also in submenus). */
const MENU_HELP = /Use the \^ and v keys to select which entry is highlighted\./;
/** A highlighted entry: `*` then the title, padded with spaces to the menu's width. */
const HIGHLIGHTED = /\*(\S(?:[^\n*]*?\S)?)(?= {2,}|\n|$)/g;

function matches(title: string, want: MenuTitle): boolean {
  if (typeof want !== "string") return want.test(title);
  // GRUB cuts a long title at the menu's width (and marks the cut with a right arrow).
  return title === want || (title.length >= 40 && want.startsWith(title.replace(/\W+$/, "")));
}

/** The last highlighted title in `text`, if any. */
function lastHighlighted(text: string): string | undefined {
  let last: string | undefined;
  for (const m of text.matchAll(HIGHLIGHTED)) last = m[1];
  return last;
}

/** Wait until the console has been silent for `settleMs` (at most `limitMs`). */
async function settle(vm: QemuHandle, settleMs: number, limitMs = 30_000): Promise<void> {
  const until = Date.now() + limitMs;
  let length = vm.output().length;
  let quietSince = Date.now();
  while (Date.now() < until) {
    await sleep(100);
    const now = vm.output().length;
    if (now !== length) {
      length = now;
      quietSince = Date.now();
    } else if (Date.now() - quietSince >= settleMs) return;
  }
}

/**
 * Choose a GRUB menu entry by its title over the serial console: wait for
 * the menu, stop its countdown, move the highlight with Up/Down until the
 * title is highlighted and press Enter. Give several titles to go into
 * submenus (`["Recovery options", "Reset to factory settings"]`). Works with
 * GRUB's `terminal_output serial` (the `*` marker of the highlighted entry)
 * and either `terminal_input serial` or `console` (OVMF's terminal turns the
 * VT100 arrow keys into key codes). Throws, naming the entries it saw, when
 * a title is not in the menu.
 *
 * @example
 * ```ts
 * const vm = await boot({ disks: [image], timeoutMs: 900_000, name: "recovery" });
 * await chooseGrubEntry(vm, ["Recovery options", "Recovery"]);
 * await vm.waitFor("LIFEBOAT-RECOVERY mode=interactive", 300_000);
 * ```
 */
export async function chooseGrubEntry(
  vm: QemuHandle,
  path: readonly MenuTitle[],
  options: ChooseGrubEntryOptions = {},
): Promise<GrubChoice> {
  const settleMs = options.settleMs ?? 1500;
  const maxMoves = options.maxMoves ?? 20;
  const seen: string[][] = [];
  for (const [level, want] of path.entries()) {
    // Each menu (the top one, then each submenu) prints its help line.
    const help = await vm.waitFor(
      MENU_HELP,
      level === 0 ? (options.menuTimeoutMs ?? 300_000) : 60_000,
    );
    // A first key stops the countdown; Up at the top entry changes nothing.
    await vm.send(Keys.up);
    await settle(vm, settleMs);
    const titles: string[] = [];
    let current = lastHighlighted(vm.output().slice(help.index));
    let direction: "down" | "up" = "down";
    for (let move = 0; ; move++) {
      if (current !== undefined && !titles.includes(current)) titles.push(current);
      if (current !== undefined && matches(current, want)) break;
      if (move >= maxMoves)
        throw new Error(
          `GRUB menu: no entry ${String(want)} after ${move} moves; entries seen: ${JSON.stringify(titles)} (serial log ${vm.logFile})`,
        );
      const before = vm.output().length;
      await vm.send(direction === "down" ? Keys.down : Keys.up);
      await settle(vm, settleMs);
      const next = lastHighlighted(vm.output().slice(before));
      if (next === undefined || next === current) {
        // The last entry (GRUB does not wrap): the rest is above where we started.
        if (direction === "up")
          throw new Error(
            `GRUB menu: no entry ${String(want)}; entries seen: ${JSON.stringify(titles)} (serial log ${vm.logFile})`,
          );
        direction = "up";
        continue;
      }
      current = next;
    }
    options.onProgress?.(
      `GRUB menu ${level}: chose ${JSON.stringify(current)} of ${JSON.stringify(titles)}`,
    );
    seen.push(titles);
    await vm.send(Keys.enter);
  }
  return { seen };
}

/**
 * Type keys into a program on the serial console one at a time, with a pause
 * after each (a full-screen program redraws between keys; a burst of bytes
 * can also be read as one escape sequence).
 *
 * @example
 * ```ts
 * await typeKeys(vm, [Keys.down, Keys.enter, "ERASE", Keys.enter]);
 * ```
 */
export async function typeKeys(
  vm: QemuHandle,
  keys: readonly string[],
  options: { readonly pauseMs?: number } = {},
): Promise<void> {
  for (const key of keys) {
    await vm.send(key);
    await sleep(options.pauseMs ?? 400);
  }
}
