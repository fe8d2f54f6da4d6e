/** Deno entry: `deno task start`. */
import { getConnInfo } from "hono/deno";
import { serveDeno } from "./deno-http.ts";
import { useResponseBuilder } from "../http/respond.ts";
import { denoResponseBuilder } from "./deno-respond.ts";
import { run } from "./serve.ts";

useResponseBuilder(denoResponseBuilder);

await run({
  runtime: `deno ${Deno.version.deno}`,
  denoOpenKv: (path?: string) => Deno.openKv(path),
  peerAddress: (c) => getConnInfo(c).remote.address,
}, ({ app, config }, log) => serveDeno(app.fetch, config, log));
