// biome-ignore-all lint/suspicious/noControlCharactersInRegex: a serial console stream is made of control characters
/**
 * Turns a serial console byte stream into readable text: drops ANSI escape
 * sequences (GRUB and systemd colour and cursor codes) and carriage returns,
 * holding back an escape sequence cut in half by a chunk boundary.
 */
export class SerialText {
  #pending = "";

  /** Feed a chunk; returns the readable text it completes. */
  push(chunk: string): string {
    let text = this.#pending + chunk;
    this.#pending = "";
    // Hold back only a sequence that is still incomplete at the end of the chunk.
    const lastEsc = text.lastIndexOf("\x1b");
    if (lastEsc !== -1 && /^\x1b(\[[0-?]*[ -/]*|\][^\x07]*)?$/.test(text.slice(lastEsc))) {
      this.#pending = text.slice(lastEsc);
      text = text.slice(0, lastEsc);
    }
    return clean(text);
  }

  /** Whatever is still held back, cleaned. */
  flush(): string {
    const rest = this.#pending;
    this.#pending = "";
    return clean(rest);
  }
}

function clean(text: string): string {
  return (
    text
      // CSI sequences (colours, cursor moves), OSC sequences, two-byte escapes.
      .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, "")
      .replace(/\x1b\][^\x07]*\x07/g, "")
      .replace(/\x1b[@-Z\\-_]/g, "")
      .replace(/\r/g, "")
      // Other control characters except newline and tab.
      .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "")
  );
}
