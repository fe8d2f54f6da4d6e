import { StartupError } from "../../domain/errors.ts";
import { sessionRecord, userRecord } from "../../domain/records.ts";
import { accountRecord } from "../../domain/accounts.ts";
import type { Change } from "../tables.ts";
import { crc32 } from "../../lib/crc32.ts";

/**
 * The journal's line format: one line per committed batch (one storage call:
 * a user delete and its sessions go together, so replay never applies half of
 * one), written as
 *
 *     <CRC-32 of the payload bytes, 8 lower-case hex digits> <payload>\n
 *
 * where the payload is the JSON array of the batch's `Change`s. JSON never
 * contains a raw newline, so lines split cleanly. The checksum tells a line
 * torn by a crash (or a sector that never reached the disk) from a good one;
 * CRC-32 rather than a hash because it only has to catch accidents, and it
 * costs a few nanoseconds per byte on every commit and at every startup.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** One journal line, newline included, for a batch of changes. */
export function encodeBatch(changes: Change[]): Uint8Array {
  const payload = encoder.encode(JSON.stringify(changes));
  const line = new Uint8Array(payload.length + 10);
  line.set(encoder.encode(crc32(payload).toString(16).padStart(8, "0") + " "));
  line.set(payload, 9);
  line[line.length - 1] = 0x0a;
  return line;
}

// Records are rebuilt by the domain's one shape check: a line that passed its
// checksum but holds something else (written by a newer version?) stops
// startup rather than loading half-shaped records.
function change(c: unknown): Change | null {
  if (c === null || typeof c !== "object") return null;
  const o = c as Record<string, unknown>;
  const rec = o.user ?? o.session;
  const fields = rec !== null && typeof rec === "object" ? (rec as Record<string, unknown>) : {};
  switch (o.op) {
    case "putUser": {
      const u = userRecord(fields);
      return u && { op: "putUser", user: u };
    }
    case "putSession": {
      const s = sessionRecord(fields);
      return s && { op: "putSession", session: s };
    }
    case "delUser":
      return typeof o.id === "string" ? { op: "delUser", id: o.id } : null;
    case "delSession":
      return typeof o.session_id === "string" ? { op: "delSession", session_id: o.session_id } : null;
    case "putAccount": {
      const a = accountRecord(o.account);
      return a && { op: "putAccount", account: a };
    }
    case "delAccount":
      return typeof o.user_id === "string" ? { op: "delAccount", user_id: o.user_id } : null;
  }
  return null;
}

/** The batch in `bytes[start, end)` (no newline), or null when the line is damaged. */
function decodeLine(bytes: Uint8Array, start: number, end: number): Change[] | null {
  if (end - start < 11 || bytes[start + 8] !== 0x20) return null;
  const hex = String.fromCharCode(...bytes.subarray(start, start + 8));
  if (!/^[0-9a-f]{8}$/.test(hex) || Number.parseInt(hex, 16) !== crc32(bytes, start + 9, end)) return null;
  try {
    const parsed: unknown = JSON.parse(decoder.decode(bytes.subarray(start + 9, end)));
    if (!Array.isArray(parsed)) return null;
    const changes = parsed.map(change);
    return changes.every((c) => c !== null) ? (changes as Change[]) : null;
  } catch {
    return null;
  }
}

/** What a journal file holds: its good batches, and how much of it is good. */
export type JournalContents = {
  batches: Change[][];
  /** Bytes of whole, valid lines; anything after them is a torn last line. */
  goodLength: number;
  /** True when the file ends with a damaged line (dropped). */
  torn: boolean;
};

/**
 * Reads a journal file. A damaged LAST line was never acknowledged (a commit
 * resolves only after its whole line is fsynced, and a failed write is cut
 * off before the next one), so it is dropped when `tornTailAllowed`. A
 * damaged line with good lines after it is real corruption: StartupError.
 */
export function decodeJournal(bytes: Uint8Array, file: string, tornTailAllowed: boolean): JournalContents {
  const batches: Change[][] = [];
  let pos = 0;
  for (let lineNo = 1; pos < bytes.length; lineNo++) {
    const nl = bytes.indexOf(0x0a, pos);
    const end = nl === -1 ? bytes.length : nl;
    // An unterminated last line is torn even if its checksum matches: its
    // newline never reached the disk, so its commit never resolved.
    const batch = nl === -1 ? null : decodeLine(bytes, pos, end);
    if (batch === null) {
      const last = nl === -1 || nl === bytes.length - 1;
      if (last && tornTailAllowed) return { batches, goodLength: pos, torn: true };
      throw new StartupError(
        `Journal ${file} is corrupted at line ${lineNo} (byte ${pos})` +
          (last ? ", and a newer journal follows it" : ", and valid lines follow it") +
          "; restore the data folder from a backup. The file was left untouched",
      );
    }
    batches.push(batch);
    pos = end + 1;
  }
  return { batches, goodLength: pos, torn: false };
}
