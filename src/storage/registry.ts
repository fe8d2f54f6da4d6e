import { fileStorage } from "./file/storage.ts";
import type { StorageKind } from "./kind.ts";
import { kvStorage } from "./kv/storage.ts";
import { memoryStorage } from "./memory/storage.ts";
import { postgresStorage } from "./postgres/storage.ts";

export type { CliPlace, OpenContext, StorageSettings } from "./kind.ts";

/**
 * Every kind of storage, in the order messages list them. A new driver is
 * its folder (with a `storage.ts` describing it) and one line here: the
 * configuration, opening the storage and the CLI all read this list.
 */
export const STORAGE_KINDS = [fileStorage, kvStorage, postgresStorage, memoryStorage] as const;

/** A storage's name, as `STORAGE` takes it. */
export type StorageName = (typeof STORAGE_KINDS)[number]["name"];

/** The names `STORAGE` accepts. */
export const STORAGE_NAMES = STORAGE_KINDS.map((k) => k.name) as [StorageName, ...StorageName[]];

/** The storage `STORAGE` falls back to when unset. */
export const DEFAULT_STORAGE: StorageName = STORAGE_KINDS[0].name;

/**
 * The kind named `name` (a configured or a driver's `kind`).
 *
 * @example storageKind(config.storage).open(config, context)
 */
export function storageKind(name: string): StorageKind {
  const kind = STORAGE_KINDS.find((k) => k.name === name);
  if (!kind) throw new Error(`unknown storage ${JSON.stringify(name)}`);
  return kind;
}

/** A kind the CLI can use, with the flag of `migrate --to` naming where it is. */
export type CliStorageKind = StorageKind<StorageName> & { cli: { flag: string; value: string } };

/** The kinds the CLI can use, in the registry's order. */
export function cliStorageKinds(): CliStorageKind[] {
  return STORAGE_KINDS.filter((k): k is CliStorageKind => "flag" in k.cli);
}

/**
 * Names as a sentence: "file, kv or postgres".
 *
 * @example orList(["file", "kv"]) // "file or kv"
 */
export function orList(names: readonly string[]): string {
  return names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;
}
