import { createMemoryDriver } from "../src/storage/memory/index.ts";
import { runDriverContract } from "./helpers/driver-contract.ts";

runDriverContract("memory", () => Promise.resolve({ driver: createMemoryDriver() }));
