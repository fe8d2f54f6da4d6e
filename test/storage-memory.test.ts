import { createMemoryDriver } from "../src/storage/memory/index.ts";
import { runAccountContract, runDriverContract } from "./helpers/driver-contract.ts";

runDriverContract("memory", () => Promise.resolve({ driver: createMemoryDriver() }));
runAccountContract("memory", () => Promise.resolve({ driver: createMemoryDriver() }));
