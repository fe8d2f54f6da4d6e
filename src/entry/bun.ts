/// <reference types="bun-types" />
/**
 * Bun entry: `bun run start`. Bun serves through its node:http, not
 * `Bun.serve`: only node:http lets the header timeout be set and the number
 * of connections be capped (see node-http.ts). The price, measured by
 * `npm run bench`: a bare app answers about a fifth fewer requests a second
 * through it than through `Bun.serve`.
 */
import { peerAddress, serveNodeHttp } from "./node-http.ts";
import { run } from "./serve.ts";

await run({ runtime: `bun ${Bun.version}`, peerAddress }, ({ app, config }, log) => serveNodeHttp(app.fetch, config, log));
