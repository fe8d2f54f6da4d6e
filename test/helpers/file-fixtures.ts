import * as nodeFs from "node:fs/promises";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { type FileDriver, type FileDriverOptions, openFileDriver } from "../../src/storage/file/index.ts";
import type { FsLike } from "../../src/storage/fs.ts";

/** A fresh empty folder under the OS temp folder. */
export function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "file-driver-"));
}

export function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

/** Opens the file driver on `dir` with test defaults, collecting log lines in `logs`. */
export function openOn(dir: string, over: Partial<FileDriverOptions> = {}, logs: string[] = []): Promise<FileDriver> {
  return openFileDriver({ dir, pid: process.pid, hostname: "test-host", log: (l) => logs.push(l), ...over });
}

/** Which journal operations fail, switched on and off by a test while the driver runs. */
export type Faults = { write?: boolean; partial?: boolean; sync?: boolean; truncate?: boolean };

function ioError(code: string, syscall: string): Error {
  return Object.assign(new Error(`${code}: simulated failure, ${syscall}`), { code, syscall });
}

/**
 * A file system whose journal handles fail on demand. As root, a read-only
 * folder cannot be simulated with chmod, hence the injection.
 */
export function faultyFs(faults: Faults): FsLike & { fsyncs: number } {
  const fs = {
    ...nodeFs,
    fsyncs: 0,
    async open(...args: Parameters<typeof nodeFs.open>) {
      const handle = await nodeFs.open(...args);
      if (!String(args[0]).includes(".db_journal.")) return handle;
      return new Proxy(handle, {
        get(target, prop) {
          if (prop === "write") {
            return async (buf: Uint8Array, off: number, len: number) => {
              if (!faults.write) return target.write(buf, off, len);
              // A write that got half-way, as when the disk fills up mid-line.
              if (faults.partial) await target.write(buf, off, Math.max(1, Math.floor(len / 2)));
              throw ioError("ENOSPC", "write");
            };
          }
          if (prop === "datasync") {
            return () => {
              fs.fsyncs++;
              if (faults.sync) return Promise.reject(ioError("EIO", "fdatasync"));
              return target.datasync();
            };
          }
          if (prop === "truncate") {
            return (len: number) => {
              if (faults.truncate) return Promise.reject(ioError("EIO", "ftruncate"));
              return target.truncate(len);
            };
          }
          const v = Reflect.get(target, prop, target);
          return typeof v === "function" ? v.bind(target) : v;
        },
      });
    },
  };
  return fs as FsLike & { fsyncs: number };
}

/** What `json.dump` of the original writes: ", " and ": " separators, non-ASCII as \uXXXX (surrogate pairs for emoji). */
export const ORIGINAL_USERS =
  '{"u1": {"id": "u1", "created_at": "2024-03-01T10:00:00", "updated_at": "2024-03-01T10:00:00", "email": "bob@hbtn.io", ' +
  '"_password": "9a3f8a7b4ac1a6bd9c4e12b46dde9f7ddbab2d6f9ba4e1e24ad0db4e4de57bd0", "first_name": "Bob", "last_name": "Dylan"}, ' +
  '"u2": {"id": "u2", "created_at": "2024-03-02T11:30:00", "updated_at": "2024-03-05T08:00:00", "email": "bob@hbtn.io", ' +
  '"_password": "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8", "first_name": "Robert", "last_name": null}, ' +
  '"u3": {"id": "u3", "created_at": "2024-03-03T00:00:00", "updated_at": "2024-03-03T00:00:00", "email": "", ' +
  '"_password": null, "first_name": null, "last_name": null}, ' +
  '"u4": {"id": "u4", "created_at": "2024-03-04T12:00:00", "updated_at": "2024-03-04T12:00:00", "email": "zoe@hbtn.io", ' +
  '"_password": "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8", "first_name": "Zo\\u00eb", ' +
  '"last_name": "\\u65e5\\u672c \\ud83c\\udf89"}}';

/** A session of the original: `session_id` is the cookie value itself (a uuid4). */
export const LEGACY_TOKEN = "5b1d3ab8-5b5e-4c4b-9e0e-7d1f1c3a9f10";
export const ORIGINAL_SESSIONS = '{"s1": {"id": "s1", "created_at": "2024-03-06T09:00:00", "updated_at": "2024-03-06T09:00:00", ' +
  `"user_id": "u1", "session_id": "${LEGACY_TOKEN}"}}`;

export type { FileDriver };
