import type { ResponseBuilder } from "../http/respond.ts";

/**
 * How Deno makes the API's responses fastest (installed by deno.ts with
 * useResponseBuilder). Deno 2.9 makes a Response whose init has only a
 * content type on a fast path (0.1 µs); every other header in the init
 * costs about 0.7 µs more, while setting it on the made Response costs 0.1
 * (5 headers: 2.8 -> 0.6 µs).
 */
export const denoResponseBuilder: ResponseBuilder = (body, status, headers) => {
  const type = headers["content-type"];
  const res = new Response(body, type === undefined ? { status } : { status, headers: { "content-type": type } });
  for (const name in headers) if (name !== "content-type") res.headers.set(name, headers[name]);
  return res;
};
