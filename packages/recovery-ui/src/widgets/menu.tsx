import { Box, Text } from "ink";
import { useRef, useState } from "react";
import { useUi } from "../ui.js";
import { useKeys } from "./keys.js";

/** One entry of a {@link Menu}. */
export interface MenuItem<T extends string> {
  readonly id: T;
  readonly label: string;
  /** Shown but not selectable, with why. */
  readonly disabled?: string;
}

/** A keyboard menu: Up/Down (or k/j) move, Enter or the item's number selects, Esc goes back. */
export function Menu<T extends string>(props: {
  items: readonly MenuItem<T>[];
  onSelect: (id: T) => void;
  onBack?: () => void;
  onMove?: (id: T) => void;
}) {
  const { glyphs } = useUi();
  const first = Math.max(
    0,
    props.items.findIndex((i) => !i.disabled),
  );
  const [at, setAtState] = useState(first);
  const atRef = useRef(first);
  const setAt = (i: number) => {
    atRef.current = i;
    setAtState(i);
  };
  const move = (delta: number) => {
    const at = atRef.current;
    const n = props.items.length;
    for (let i = 1; i <= n; i++) {
      const next = (at + delta * i + n * n) % n;
      if (!props.items[next]?.disabled) {
        setAt(next);
        const item = props.items[next];
        if (item) props.onMove?.(item.id);
        return;
      }
    }
  };
  useKeys((input, key) => {
    if (key.upArrow || input === "k") move(-1);
    else if (key.downArrow || input === "j") move(1);
    else if (key.escape) props.onBack?.();
    else if (key.return) {
      const item = props.items[atRef.current];
      if (item && !item.disabled) props.onSelect(item.id);
    } else if (/^[1-9]$/.test(input)) {
      const item = props.items[Number(input) - 1];
      if (item && !item.disabled) props.onSelect(item.id);
    }
  });
  return (
    <Box flexDirection="column">
      {props.items.map((item, i) => (
        <Box key={item.id} flexDirection="column">
          <Text inverse={i === at} dimColor={item.disabled !== undefined}>
            {i === at ? glyphs.pointer : " "} {i + 1}. {item.label}
          </Text>
          {item.disabled ? <Text dimColor>{`     ${item.disabled}`}</Text> : null}
        </Box>
      ))}
    </Box>
  );
}
