/**
 * Reading a password without putting it in argv: the first line of stdin
 * when stdin is piped (scripts), or a prompt with echo off when it is a
 * terminal. Runtime-neutral: the entry file supplies a `Terminal` made of
 * its runtime's stdin calls.
 */

/** The runtime's stdin as the password reader needs it. */
export type Terminal = {
  isTerminal: boolean;
  /** Next chunk of bytes, or null at end of input. */
  read(): Promise<Uint8Array | null>;
  /** Raw mode: no echo, no line editing, Ctrl-C arrives as a byte. */
  setRaw(on: boolean): void;
  /** Prompts go to stderr so stdout stays clean for scripts. */
  write(text: string): void;
};

/** The user pressed Ctrl-C (or Ctrl-D on an empty line) at the prompt. */
export class PasswordAborted extends Error {
  constructor() {
    super("aborted");
    this.name = "PasswordAborted";
  }
}

/** No usable password came in (empty stdin, an empty line, too long). */
export class PasswordInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PasswordInputError";
  }
}

/** More than any accepted password (1024 characters, 4 bytes each at most): refuse rather than buffer a whole file. */
const MAX_LINE_BYTES = 8192;
const CTRL_C = 0x03, CTRL_D = 0x04, BACKSPACE = 0x08, CTRL_U = 0x15, ESC = 0x1b, DEL = 0x7f;

/**
 * Builds `readPassword(confirm)`. Bytes after a line's end are kept for the
 * next call, so two prompts answered quickly (or pasted) are not mixed up.
 */
export function createPasswordReader(term: Terminal): (confirm: boolean) => Promise<string> {
  let pending = new Uint8Array(0);

  async function nextChunk(): Promise<Uint8Array | null> {
    if (pending.length) {
      const c = pending;
      pending = new Uint8Array(0);
      return c;
    }
    return await term.read();
  }

  /** First line of piped input, without its line terminator. */
  async function readLine(): Promise<string | null> {
    const bytes: number[] = [];
    for (;;) {
      const chunk = await nextChunk();
      if (chunk === null) return bytes.length ? decode(bytes).replace(/\r$/, "") : null;
      const nl = chunk.indexOf(0x0a);
      const part = nl === -1 ? chunk : chunk.subarray(0, nl);
      if (bytes.length + part.length > MAX_LINE_BYTES) throw new PasswordInputError("the password on stdin is too long");
      for (const b of part) bytes.push(b);
      if (nl !== -1) {
        pending = chunk.slice(nl + 1);
        return decode(bytes).replace(/\r$/, "");
      }
    }
  }

  /** One line typed in raw mode: handles Enter, Backspace, Ctrl-U, Ctrl-C, Ctrl-D. */
  async function readSecret(prompt: string): Promise<string> {
    term.write(prompt);
    let bytes: number[] = [];
    try {
      term.setRaw(true);
      for (;;) {
        const chunk = await nextChunk();
        if (chunk === null) throw new PasswordAborted();
        for (let i = 0; i < chunk.length; i++) {
          const b = chunk[i];
          if (b === 0x0d || b === 0x0a) {
            // A pasted "\r\n" is one Enter, not an Enter and an empty second answer.
            pending = chunk.slice(i + (b === 0x0d && chunk[i + 1] === 0x0a ? 2 : 1));
            return decode(bytes);
          }
          if (b === CTRL_C || (b === CTRL_D && bytes.length === 0)) throw new PasswordAborted();
          if (b === BACKSPACE || b === DEL) bytes = dropLastChar(bytes);
          else if (b === CTRL_U) bytes = [];
          else if (b === ESC) break; // arrow keys and the like: the rest of the chunk is their sequence
          else if (b >= 0x20) bytes.push(b);
          if (bytes.length > MAX_LINE_BYTES) throw new PasswordInputError("the password is too long");
        }
      }
    } finally {
      term.setRaw(false);
      term.write("\n"); // Enter was not echoed either
    }
  }

  return async (confirm) => {
    if (!term.isTerminal) {
      const line = await readLine();
      if (line === null || line === "") throw new PasswordInputError("no password on stdin (expected it on the first line)");
      return line;
    }
    const first = await readSecret("Password: ");
    if (first === "") throw new PasswordInputError("no password given");
    if (confirm && (await readSecret("Repeat password: ")) !== first) throw new PasswordInputError("the passwords do not match");
    return first;
  };
}

function decode(bytes: number[]): string {
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** Removes the last UTF-8 character (its continuation bytes are 10xxxxxx). */
function dropLastChar(bytes: number[]): number[] {
  let end = bytes.length - 1;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.slice(0, Math.max(0, end));
}
