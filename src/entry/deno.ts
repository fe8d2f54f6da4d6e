/**
 * Deno entry: `deno task start`. Deno serves through its node:http, as Bun
 * does, not `Deno.serve`: only node:http has header, request and idle
 * timeouts and a connection cap (see node-http.ts).
 */
import { freeDescriptors } from "./deno-descriptors.ts";
import { peerAddress, serveNodeHttp } from "./node-http.ts";
import { useResponseBuilder } from "../http/respond.ts";
import { denoResponseBuilder } from "./deno-respond.ts";
import { run } from "./serve.ts";

useResponseBuilder(denoResponseBuilder);

await run({
  runtime: `deno ${Deno.version.deno}`,
  denoOpenKv: (path?: string) => Deno.openKv(path),
  peerAddress,
}, ({ app, config }, log) => serveNodeHttp(app.fetch, config, log, { descriptors: freeDescriptors, acceptStopsAtLimit: true }));
