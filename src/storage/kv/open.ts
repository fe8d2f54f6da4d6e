import { chmod, stat } from "node:fs/promises";
import { PRIVATE_FILE } from "../fs.ts";
import { dirname, resolve } from "node:path";
import { StartupError } from "../../domain/errors.ts";
import type { KvLike } from "./types.ts";
import { META_KEY } from "./layout.ts";

/**
 * Opening a Deno KV database on any runtime. Kept apart from the driver
 * (index.ts and what it imports, Web APIs only) because it touches the file
 * system and loads `@deno/kv`, a native module only needed when STORAGE=kv.
 */

const isRemote = (target: string): boolean => /^https?:\/\//i.test(target);

function cause(e: unknown): string {
  const err = e as { code?: string; message?: string };
  // @deno/kv appends a native stack trace to its messages: keep the first line.
  return (err?.message ?? String(e)).split("\n")[0] || String(err?.code ?? e);
}

/**
 * Deno's SQLite layer reports a missing folder as an obscure I/O error, so the
 * folder is checked first and named in the message.
 */
async function checkLocalPath(target: string): Promise<void> {
  const file = resolve(target);
  const folder = dirname(file);
  const fail = (why: string) => new StartupError(`Cannot open Deno KV "${target}": ${why}`);
  try {
    if (!(await stat(folder)).isDirectory()) throw fail(`"${folder}" is not a folder`);
  } catch (e) {
    if (e instanceof StartupError) throw e;
    if ((e as { code?: string }).code === "ENOENT") throw fail(`folder "${folder}" does not exist`);
    throw fail(cause(e));
  }
  const found = await stat(file).catch(() => null);
  if (found?.isDirectory()) throw fail("it is a folder, not a KV database file");
}

function v8Disabled(): never {
  // Values are always Uint8Array, which KV stores as raw bytes. Reaching here
  // means a value that is not: V8's format would make the data unreadable by
  // Bun (which has no V8) and by JSON-reading tools, so refuse instead.
  throw new Error("V8 serialisation is disabled: values must be Uint8Array (UTF-8 JSON)");
}

async function openWithNpm(target: string, accessToken?: string): Promise<KvLike> {
  const { openKv } = await import("@deno/kv");
  const opts: Record<string, unknown> = { encodeV8: v8Disabled, decodeV8: v8Disabled };
  // Without it, @deno/kv reads DENO_KV_ACCESS_TOKEN from the environment itself.
  if (accessToken) opts.accessToken = accessToken;
  return await openKv(target, opts);
}

/**
 * Opens the KV database at `target`: a local file path (`:memory:` for a
 * throwaway one) or an http(s):// KV Connect URL. On Deno pass
 * `{ denoOpenKv: (p) => Deno.openKv(p) }`; elsewhere `@deno/kv` is loaded on demand.
 * A remote database authenticates with `DENO_KV_ACCESS_TOKEN`, which both
 * Deno and @deno/kv read; `accessToken` overrides it on Node and Bun only
 * (`Deno.openKv` takes no token).
 *
 * The database is read once before returning, so a file that is not a KV
 * database, or a remote one refusing the token, fails here, at startup,
 * rather than on the first request. Any failure is a `StartupError` naming
 * the target and the cause.
 *
 * @example
 * const kv = await openKvStore("./data.kv", { denoOpenKv: typeof Deno === "undefined" ? undefined : (p) => Deno.openKv(p) });
 */
export async function openKvStore(
  target: string,
  runtime: { denoOpenKv?: (path?: string) => Promise<unknown> },
  accessToken?: string,
): Promise<KvLike> {
  if (!target.trim()) throw new StartupError("Cannot open Deno KV: the path is empty");
  const local = !isRemote(target) && target !== ":memory:";
  if (local) await checkLocalPath(target);
  const created = local && !(await stat(resolve(target)).then(() => true, () => false));
  let kv: KvLike;
  try {
    kv = runtime.denoOpenKv ? ((await runtime.denoOpenKv(target)) as KvLike) : await openWithNpm(target, accessToken);
  } catch (e) {
    throw new StartupError(`Cannot open Deno KV "${target}": ${cause(e)}`);
  }
  // SQLite creates the file (and its journal) with the default mode; it
  // holds password hashes. (An existing file keeps its mode: startup warns
  // when others can read it.)
  if (created) {
    for (const suffix of ["", "-wal", "-shm"]) await chmod(resolve(target) + suffix, PRIVATE_FILE).catch(() => {});
  }
  try {
    await kv.get(META_KEY);
  } catch (e) {
    try {
      kv.close();
    } catch {
      // Already unusable; the read error below is the one worth reporting.
    }
    throw new StartupError(`Cannot read Deno KV "${target}": ${cause(e)}`);
  }
  return kv;
}
