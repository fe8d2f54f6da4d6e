import { createMemoryDriver } from "../src/storage/memory.ts";
import { runDriverContract } from "./helpers/driver-contract.ts";

runDriverContract("memory", async () => ({ driver: createMemoryDriver() }));
