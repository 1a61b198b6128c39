import { Text } from "ink";
import { useRef, useState } from "react";
import { useKeys } from "./keys.js";

/**
 * A line of typed text: Enter submits (and clears it), Esc cancels, Backspace deletes. With
 * `secret` nothing at all is echoed (not even its length).
 */
export function TextInput(props: {
  onSubmit: (value: string) => void;
  onCancel?: () => void;
  secret?: boolean;
  initial?: string;
}) {
  const [value, setValueState] = useState(props.initial ?? "");
  const valueRef = useRef(value);
  const setValue = (v: string) => {
    valueRef.current = v;
    setValueState(v);
  };
  useKeys((input, key) => {
    if (key.return) {
      const submitted = valueRef.current;
      setValue("");
      props.onSubmit(submitted);
    } else if (key.escape) props.onCancel?.();
    else if (key.backspace || key.delete) setValue(valueRef.current.slice(0, -1));
    else if (!key.ctrl && !key.meta && !key.tab && !key.upArrow && !key.downArrow && input)
      setValue(valueRef.current + input);
  });
  return <Text>{props.secret ? "> " : `> ${value}_`}</Text>;
}
