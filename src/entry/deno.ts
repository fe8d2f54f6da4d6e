/**
 * Deno entry: `deno task start`. Deno serves through its node:http, as Bun
 * does, not `Deno.serve`: only node:http has header, request and idle
 * timeouts and a connection cap (see node-http.ts). Responses are built
 * the plain way: on this path the builder that suited `Deno.serve` (only
 * the content type in the init, the other headers set after) cost more than
 * it saved (the duties app: 94 against 129 µs of CPU a request, measured
 * interleaved on one machine).
 */
import { freeDescriptors } from "./deno-descriptors.ts";
import { peerAddress, serveNodeHttp } from "./node-http.ts";
import { run } from "./serve.ts";

await run({
  runtime: `deno ${Deno.version.deno}`,
  denoOpenKv: (path?: string) => Deno.openKv(path),
  peerAddress,
}, ({ app, config }, log) => serveNodeHttp(app.fetch, config, log, { descriptors: freeDescriptors, acceptStopsAtLimit: true }));
