import { createMemoryDriver } from "../src/storage/memory/index.ts";
import { runDriverContract } from "./helpers/driver-contract.ts";
import { runAccountContract } from "./helpers/account-contract.ts";

runDriverContract("memory", () => Promise.resolve({ driver: createMemoryDriver() }));
runAccountContract("memory", () => Promise.resolve({ driver: createMemoryDriver() }));
