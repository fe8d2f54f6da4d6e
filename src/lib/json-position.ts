/**
 * Where a JSON text stops being valid. `JSON.parse` messages differ by
 * runtime and most no longer carry a position ("Unexpected token '}'"), yet
 * an operator facing a damaged `.db_User.json` needs to know where to look.
 * Only called after `JSON.parse` has failed, so speed does not matter.
 */

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPE = /(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;

class Stop {
  readonly at: number;
  constructor(at: number) {
    this.at = at;
  }
}

/** Line and column (1-based) of the first JSON syntax error in `text`, or null when it is valid. */
export function locateJsonError(text: string): { line: number; column: number; offset: number } | null {
  let i = 0;
  const fail = (): never => {
    throw new Stop(i);
  };
  const space = () => {
    while (i < text.length && (text[i] === " " || text[i] === "\n" || text[i] === "\r" || text[i] === "\t")) i++;
  };
  const expect = (ch: string) => (text[i] === ch ? i++ : fail());
  const string = () => {
    expect('"');
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      if (text[i++] === "\\") {
        ESCAPE.lastIndex = i;
        const m = ESCAPE.exec(text) ?? fail();
        i += m[0].length;
      }
    }
    expect('"');
  };
  const key = () => {
    space();
    string();
    space();
    expect(":");
  };
  // Containers are walked with an explicit stack: a deeply nested damaged file must not overflow ours.
  const value = () => {
    const stack: string[] = [];
    for (;;) {
      space();
      const ch = text[i];
      if (ch === "{" || ch === "[") {
        i++;
        space();
        if (text[i] === (ch === "{" ? "}" : "]")) i++;
        else {
          stack.push(ch);
          if (ch === "{") key();
          continue;
        }
      } else if (ch === '"') string();
      else if (text.startsWith("true", i)) i += 4;
      else if (text.startsWith("false", i)) i += 5;
      else if (text.startsWith("null", i)) i += 4;
      else {
        NUMBER.lastIndex = i;
        i += (NUMBER.exec(text) ?? fail())[0].length;
      }
      // After a value: close containers or go on to the next element.
      for (;;) {
        if (!stack.length) return;
        space();
        const open = stack[stack.length - 1];
        if (text[i] === ",") {
          i++;
          if (open === "{") key();
          break;
        }
        expect(open === "{" ? "}" : "]");
        stack.pop();
      }
    }
  };
  try {
    value();
    space();
    if (i < text.length) fail();
    return null;
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    const before = text.slice(0, e.at);
    const line = before.split("\n").length;
    return { line, column: e.at - before.lastIndexOf("\n"), offset: e.at };
  }
}
