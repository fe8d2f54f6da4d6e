/**
 * What hashing costs on the hot paths, per call, on the runtime it runs on:
 *  - a session GET hashes its cookie's token (`hashToken`, 43 characters);
 *  - a Basic request looks its Authorization header up in the credential
 *    cache, keyed by an HMAC-SHA256 of it (`lookup`, a hit).
 * Each first with what the shared code does alone (the library), then after
 * `useNodeCryptoSha256()`, as the entry files serve. CPU time of this
 * process (other tenants of a shared machine barely move it), best of a few
 * rounds, in µs per call:
 *
 *   node --import tsx bench/hash.ts
 *   node_modules/deno/deno run -A bench/hash.ts
 *   node_modules/bun/bin/bun.exe bench/hash.ts
 */
import process from "node:process";
import { createCredentialCache } from "../src/auth/credential-cache.ts";
import { hashToken } from "../src/auth/tokens.ts";
import { useNodeCryptoSha256 } from "../src/entry/native-hash.ts";

const RUNTIME = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
const TOKEN = "Xq3v9Lr0bS2mYt7KcWp4ZaE1uHn6JdF8gRk5sVo_i-M";
const BASIC = "Basic " + btoa("bench@hbtn.io:Tr0mbone-Sky-4");
const CALLS = 50_000;
const ROUNDS = 7;

const cpuMicros = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
let sink = 0;
/** Best CPU µs per call of `fn` over ROUNDS rounds of CALLS calls, after a warm-up. */
function perCall(fn: () => unknown): number {
  for (let i = 0; i < CALLS / 5; i++) sink += fn() ? 1 : 0;
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = cpuMicros();
    for (let i = 0; i < CALLS; i++) sink += fn() ? 1 : 0;
    best = Math.min(best, (cpuMicros() - t0) / CALLS);
  }
  return best;
}

/** A cache that knows BASIC, made after the hashes in force are installed. */
function basicLookup(): () => unknown {
  const cache = createCredentialCache({ maxEntries: 10, maxAgeMs: 3_600_000, now: Date.now });
  cache.remember(BASIC, { id: "u1", email: "bench@hbtn.io", _password: "x" } as Parameters<typeof cache.remember>[1]);
  if (!cache.lookup(BASIC)) throw new Error("the credential cache missed its own entry");
  return () => cache.lookup(BASIC);
}

const token = () => hashToken(TOKEN);
const library = { token: perCall(token), basic: perCall(basicLookup()) };
const native = useNodeCryptoSha256();
const served = { token: perCall(token), basic: perCall(basicLookup()) };
console.log(`${RUNTIME}: CPU µs per call, best of ${ROUNDS} x ${CALLS} (served: node:crypto's hash ${native ? "in use" : "refused"})`);
console.log(`  session GET, hashToken          library ${library.token.toFixed(3)}   served ${served.token.toFixed(3)}`);
console.log(`  Basic, credential cache lookup  library ${library.basic.toFixed(3)}   served ${served.basic.toFixed(3)}`);
if (sink < 0) console.log(sink);
