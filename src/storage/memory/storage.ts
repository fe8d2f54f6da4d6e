import type { StorageKind } from "../kind.ts";

/** `STORAGE=memory`: nothing on disk, gone with the process (tests, throwaway runs). */
export const memoryStorage: StorageKind<"memory"> = {
  name: "memory",
  usesDataDir: false,
  holdsDataFiles: false,
  importsDataFiles: false,
  needsDatabaseUrl: false,
  // The CLI's changes are for a server to serve later: a memory store would vanish with the command.
  cli: { refused: "keeps nothing once the command ends" },
  where: () => "memory",
  dataPaths: () => [],
  async open() {
    const { createMemoryDriver } = await import("./index.ts");
    return createMemoryDriver();
  },
};
