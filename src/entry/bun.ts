/// <reference types="bun-types" />
/**
 * Bun entry: `bun run start`. Bun serves through its node:http, not
 * `Bun.serve`: only node:http lets the header timeout be set and the number
 * of connections be capped (see node-http.ts), and on Bun it is as fast.
 */
import { peerAddress, serveNodeHttp } from "./node-http.ts";
import { run } from "./serve.ts";

await run({ runtime: `bun ${Bun.version}`, peerAddress }, ({ app, config }, log) => serveNodeHttp(app.fetch, config, log));
