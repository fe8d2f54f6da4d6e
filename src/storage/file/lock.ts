import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { StartupError } from "../../domain/errors.ts";
import { type FsLike, PRIVATE_FILE } from "../fs.ts";
import { errCode, errText } from "../../lib/errors.ts";

/**
 * The single-writer lock of a data folder.
 *
 * The lock is a Unix domain socket, `.db_lock.sock`, that the holder listens
 * on; `.db_lock` beside it says who holds it (pid, host, since), for
 * messages. Why a socket, and not a pid file, a heartbeat or `flock`:
 *
 * - **The kernel tells liveness, on every runtime, with no permission.**
 *   When the holder dies, even by `kill -9`, the kernel closes its socket:
 *   a `connect` then fails at once with ECONNREFUSED, so a new start takes
 *   over in milliseconds. While the holder lives, `connect` succeeds even if
 *   its event loop is blocked or the process is stopped (the kernel queues
 *   the connection), so a live holder is never displaced. A pid check needs
 *   `/proc` (refused by Deno without `--allow-all`) or `kill(pid, 0)` (Deno:
 *   `--allow-run`); a heartbeat displaces a holder whose event loop stalls;
 *   `flock` exists on Deno (`FsFile.lock`) but not on Node.
 * - **Every runtime speaks it**: `node:net` listens on and connects to Unix
 *   sockets on Deno, Bun and Node alike, so a Deno holder and a Node starter
 *   (or any other pair) judge each other correctly.
 *
 * Binding a socket path is exclusive (EADDRINUSE when the file exists), so
 * taking a free lock is one atomic step. Taking over a dead one means
 * removing its socket file first, and that is done under a short-lived
 * takeover file (`.db_lock.takeover`, exclusive create), re-checking
 * liveness there: two starters racing for the same dead lock cannot both
 * remove it. A takeover file older than `TAKEOVER_STALE_MS` was left by a
 * starter that crashed mid-takeover and is removed.
 *
 * A socket cannot tell liveness across machines (a folder on a network file
 * system): a dead-looking lock that `.db_lock` says belongs to another host
 * is refused, not taken over.
 */

/** Who holds the lock, in `.db_lock` (the same file name and fields as before the socket lock). */
export const LOCK_FILE = ".db_lock";
const LOCK_SOCKET = ".db_lock.sock";
const TAKEOVER_FILE = ".db_lock.takeover";
const TAKEOVER_STALE_MS = 5_000;
/** Linux limits a socket path to 107 bytes (macOS 103); Node and Bun silently cut longer ones. */
const MAX_SOCKET_PATH = 100;

export type LockInfo = { pid: number; hostname: string; started_at: string };

export type LockOptions = {
  fs: FsLike;
  dir: string;
  pid: number;
  hostname: string;
  now: () => number;
  log: (line: string) => void;
};

export type FolderLock = { release(): Promise<void> };

type Probe = "live" | "dead" | "gone";

/** The folder is held by a live process (named when `.db_lock` says who). */
export class FolderInUseError extends StartupError {
  readonly holder: LockInfo | null;
  constructor(dir: string, holder: LockInfo | null) {
    const who = holder ? `process ${holder.pid} on ${holder.hostname} since ${holder.started_at}` : "another process";
    super(`Data folder ${dir} is in use by ${who}; stop that process first (or use another DATA_DIR)`);
    this.name = "FolderInUseError";
    this.holder = holder;
  }
}

const inUse = (dir: string, info: LockInfo | null) => new FolderInUseError(dir, info);

function parseInfo(text: string): LockInfo | null {
  try {
    const o = JSON.parse(text) as Partial<LockInfo>;
    if (typeof o.pid === "number" && typeof o.hostname === "string" && typeof o.started_at === "string") return o as LockInfo;
  } catch { /* not ours, or torn: treated as unknown */ }
  return null;
}

async function readInfo(fs: FsLike, dir: string): Promise<LockInfo | null> {
  try {
    return parseInfo(await fs.readFile(join(dir, LOCK_FILE), "utf8"));
  } catch {
    return null;
  }
}

/**
 * A path short enough for a socket address that reaches `dir/LOCK_SOCKET`:
 * the path itself, or, for a deep folder, a short symbolic link to the
 * folder in the temp folder (the kernel follows it; the socket file itself
 * is created in the data folder). `done()` removes the link.
 */
async function socketAddress(fs: FsLike, dir: string): Promise<{ path: string; done: () => Promise<void> }> {
  const direct = join(resolve(dir), LOCK_SOCKET);
  if (new TextEncoder().encode(direct).length <= MAX_SOCKET_PATH) return { path: direct, done: async () => {} };
  const link = join(tmpdir(), `.sa-lock-${crypto.randomUUID().slice(0, 8)}`);
  const path = join(link, LOCK_SOCKET);
  if (new TextEncoder().encode(path).length > MAX_SOCKET_PATH) {
    throw new StartupError(`Cannot lock data folder ${dir}: its path, and the temp folder ${tmpdir()}, are too long for a socket address`);
  }
  try {
    await fs.symlink(resolve(dir), link);
  } catch (e) {
    throw new StartupError(`Cannot lock data folder ${dir}: cannot create ${link}: ${errText(e)}`);
  }
  return { path, done: () => fs.unlink(link).catch(() => {}) };
}

/** Listens on `path`; rejects with the listen error (EADDRINUSE when the file exists). */
function listenOn(path: string, info: LockInfo): Promise<Server> {
  return new Promise((resolvePromise, reject) => {
    // A prober that connects learns who holds the lock; nothing else is said.
    const server = createServer((socket) => {
      socket.on("error", () => {});
      socket.end(JSON.stringify(info) + "\n");
    });
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      server.on("error", () => {}); // an accept failure must not take the server down with it
      // The lock must not keep a process alive that is otherwise done (the CLI).
      server.unref();
      resolvePromise(server);
    });
  });
}

/** Whether a process listens on the socket at `path` (see the module comment). */
function probe(path: string): Promise<Probe> {
  return new Promise((resolvePromise) => {
    const socket = connect(path);
    const settle = (p: Probe) => {
      clearTimeout(timer);
      socket.destroy();
      resolvePromise(p);
    };
    // No answer at all: something is there; never displace it on a guess.
    const timer = setTimeout(() => settle("live"), 2_000);
    socket.once("connect", () => settle("live"));
    socket.once("error", (e) => {
      const code = errCode(e);
      settle(code === "ECONNREFUSED" ? "dead" : code === "ENOENT" ? "gone" : "live");
    });
  });
}

/** Writes `.db_lock` (temp file + rename, so a reader never sees it half-written). */
async function writeInfo(fs: FsLike, dir: string, info: LockInfo): Promise<void> {
  const tmp = join(dir, `${LOCK_FILE}.${info.pid}.tmp`);
  const handle = await fs.open(tmp, "w", PRIVATE_FILE);
  try {
    await handle.writeFile(JSON.stringify(info), "utf8");
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, join(dir, LOCK_FILE));
}

/** Runs `task` holding the takeover file; waits (bounded) while another starter holds it. */
async function underTakeover<T>(o: LockOptions, task: () => Promise<T>): Promise<T> {
  const path = join(o.dir, TAKEOVER_FILE);
  const deadline = o.now() + TAKEOVER_STALE_MS * 2;
  for (;;) {
    try {
      await (await o.fs.open(path, "wx", PRIVATE_FILE)).close();
      break;
    } catch (e) {
      if (errCode(e) !== "EEXIST") throw new StartupError(`Cannot create ${path}: ${errText(e)}`);
    }
    const age = await o.fs.stat(path).then((s) => o.now() - s.mtimeMs, () => 0);
    if (age > TAKEOVER_STALE_MS) await o.fs.unlink(path).catch(() => {});
    else if (o.now() > deadline) {
      throw new StartupError(`Cannot lock data folder ${o.dir}: ${path} stays in place; remove it if no process is starting there`);
    } else await new Promise((r) => setTimeout(r, 20));
  }
  try {
    return await task();
  } finally {
    await o.fs.unlink(path).catch(() => {});
  }
}

/**
 * Takes the single-writer lock of a data folder, or throws StartupError
 * naming the holder. A lock left by a process that died (however it died)
 * is taken over at once, and logged.
 *
 * @example const lock = await acquireLock({ fs: realFs, dir, pid, hostname, now: Date.now, log });
 *          // ... later
 *          await lock.release();
 */
export async function acquireLock(o: LockOptions): Promise<FolderLock> {
  const { fs, dir } = o;
  const info: LockInfo = { pid: o.pid, hostname: o.hostname, started_at: new Date(o.now()).toISOString() };
  const address = await socketAddress(fs, dir);
  const bind = async (): Promise<Server | null> => {
    try {
      return await listenOn(address.path, info);
    } catch (e) {
      if (errCode(e) === "EADDRINUSE") return null;
      throw e;
    }
  };
  let server: Server | null = null;
  try {
    for (let attempt = 0; attempt < 5 && !server; attempt++) {
      server = await bind();
      if (server) break;
      const state = await probe(address.path);
      if (state === "live") throw inUse(dir, await readInfo(fs, dir));
      if (state === "gone") continue; // released meanwhile: bind again
      const held = await readInfo(fs, dir);
      if (held && held.hostname !== o.hostname) {
        throw new StartupError(
          `Data folder ${dir} is locked by process ${held.pid} on another host, ${held.hostname}, since ${held.started_at}; ` +
            `if that process is gone, remove ${join(dir, LOCK_FILE)} and ${join(dir, LOCK_SOCKET)}`,
        );
      }
      server = await underTakeover(o, async () => {
        // Re-checked here: another starter may have taken it over meanwhile.
        const again = await probe(address.path);
        if (again === "live") throw inUse(dir, await readInfo(fs, dir));
        if (again === "dead") await fs.unlink(join(dir, LOCK_SOCKET)).catch(() => {});
        const s = await bind();
        if (s) {
          o.log(`Took over the lock of ${dir} from ${held ? `process ${held.pid} (since ${held.started_at})` : "a process"} that is gone`);
        }
        return s;
      });
    }
    if (!server) throw inUse(dir, await readInfo(fs, dir));
    await fs.chmod(join(dir, LOCK_SOCKET), PRIVATE_FILE).catch(() => {});
    await writeInfo(fs, dir, info);
  } catch (e) {
    if (server) await closeServer(server, fs, dir);
    if (e instanceof StartupError) throw e;
    const code = errCode(e) ?? "";
    if (["EROFS", "EACCES", "EPERM"].includes(code)) {
      throw new StartupError(`Data folder ${dir} is not writable (${code}); the file storage needs to write there`);
    }
    throw new StartupError(`Cannot lock data folder ${dir}: ${errText(e)}`);
  } finally {
    await address.done();
  }
  const held = server;
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await fs.unlink(join(dir, LOCK_FILE)).catch(() => {});
      await closeServer(held, fs, dir);
    },
  };
}

/** Removes the socket file, then stops listening: from then on a starter binds at once. */
async function closeServer(server: Server, fs: FsLike, dir: string): Promise<void> {
  await fs.unlink(join(dir, LOCK_SOCKET)).catch(() => {});
  await new Promise<void>((r) => server.close(() => r()));
}
