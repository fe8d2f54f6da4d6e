/**
 * CLI entry: `npm run cli -- <args>`, `deno task cli <args>`, `bun run cli <args>`.
 * Only the runtime-specific part lives here (argv, stdio, terminal raw mode,
 * Deno's built-in KV, the exit status); the commands are in src/cli/.
 */
import process from "node:process";
import { runCli } from "../cli/main.ts";
import { createPasswordReader, type Terminal } from "../cli/password.ts";
import { invocationDir } from "./process.ts";

/** The part of the `Deno` global used here, typed locally so the file also type-checks for Node. */
type DenoLike = {
  args: string[];
  version: { deno: string };
  stdin: { isTerminal(): boolean; setRaw(on: boolean): void; read(p: Uint8Array): Promise<number | null> };
  openKv(path?: string): Promise<unknown>;
};
const deno = (globalThis as { Deno?: DenoLike }).Deno;
const prompt = (text: string) => void process.stderr.write(text);

function denoTerminal(d: DenoLike): Terminal {
  return {
    isTerminal: d.stdin.isTerminal(),
    read: async () => {
      const buf = new Uint8Array(4096);
      const n = await d.stdin.read(buf);
      return n === null ? null : buf.subarray(0, n);
    },
    setRaw: (on) => d.stdin.setRaw(on),
    write: prompt,
  };
}

/** Node and Bun: process.stdin, pulled one chunk at a time (paused in between, so nothing is read ahead and lost). */
function nodeTerminal(): Terminal {
  const stdin = process.stdin;
  return {
    isTerminal: stdin.isTTY === true,
    read: () =>
      new Promise((resolve, reject) => {
        if (stdin.readableEnded) return resolve(null);
        const settle = (f: () => void) => {
          stdin.off("data", onData).off("end", onEnd).off("error", onError).pause();
          f();
        };
        const onData = (c: Uint8Array | string) =>
          settle(() => resolve(typeof c === "string" ? new TextEncoder().encode(c) : new Uint8Array(c)));
        const onEnd = () => settle(() => resolve(null));
        const onError = (e: Error) => settle(() => reject(e));
        stdin.on("data", onData).on("end", onEnd).on("error", onError).resume();
      }),
    setRaw: (on) => void stdin.setRawMode?.(on),
    write: prompt,
  };
}

// `cli user list | head` closes stdout early: ignore the EPIPE and still close the storage properly.
process.stdout.on("error", () => {});
const code = await runCli(deno ? deno.args : process.argv.slice(2), {
  io: {
    out: (text) => void process.stdout.write(text + "\n"),
    err: (text) => void process.stderr.write(text + "\n"),
    readPassword: createPasswordReader(deno ? denoTerminal(deno) : nodeTerminal()),
  },
  env: process.env,
  cwd: invocationDir(),
  pid: process.pid,
  denoOpenKv: deno ? (path?: string) => deno.openKv(path) : undefined,
});
// process.exit does not wait for output still queued on a pipe: drain it first.
// (Bounded: a stream that already failed may never call back.)
for (const stream of [process.stdout, process.stderr]) {
  await new Promise<void>((done) => {
    stream.write("", () => done());
    setTimeout(done, 1000).unref?.();
  });
}
process.exit(code);
