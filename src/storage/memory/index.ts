import { Tables } from "../tables.ts";
import { createTablesDriver } from "../tables-driver.ts";
import type { StorageDriver } from "../driver.ts";

/**
 * The `memory` storage: users and sessions in this process's memory, gone
 * when it ends. For tests and throwaway runs.
 *
 * @example const driver = createMemoryDriver();
 */
export function createMemoryDriver(): StorageDriver {
  return createTablesDriver(new Tables(), { kind: "memory", location: "process memory" });
}
