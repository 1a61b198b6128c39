/** The block of a GRUB script (e.g. custom.cfg) that holds the scheduled reset's menu entry. */
const BEGIN = "### BEGIN lifeboat-factory-reset (written by lifeboat reset schedule) ###";
const END = "### END lifeboat-factory-reset ###";

/** `text` without the Lifeboat block (and the line break after it). */
export function removeMenuBlock(text: string): string {
  const start = text.indexOf(BEGIN);
  if (start < 0) return text;
  const end = text.indexOf(END, start);
  if (end < 0) return text;
  let stop = end + END.length;
  if (text[stop] === "\n") stop++;
  return text.slice(0, start) + text.slice(stop);
}

/** `text` with the Lifeboat block holding `script` at its end (replacing an earlier block). */
export function withMenuBlock(text: string, script: string): string {
  const rest = removeMenuBlock(text);
  const sep = rest === "" || rest.endsWith("\n") ? "" : "\n";
  const body = script.endsWith("\n") ? script : `${script}\n`;
  return `${rest}${sep}${BEGIN}\n${body}${END}\n`;
}
