import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { SERVER_ERROR_HEADERS } from "../http/respond.ts";
import { isValidHost } from "../http/request-target.ts";

/**
 * The answers node:http would write itself, before or around the app,
 * made JSON with the headers every answer carries; and the framing checks
 * its parser leaves to the application on some runtime.
 */

const RAW_HEADERS = Object.entries(SERVER_ERROR_HEADERS).map(([k, v]) => `${k}: ${v}\r\n`).join("");
const REASON: Record<number, string> = {
  400: "Bad Request",
  408: "Request Timeout",
  417: "Expectation Failed",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
};

/** A JSON error as raw bytes, for a socket the HTTP layer gave up on; the connection closes after it. */
function rawAnswer(status: number, error = REASON[status]): string {
  const body = JSON.stringify({ error });
  return `HTTP/1.1 ${status} ${REASON[status]}\r\n${RAW_HEADERS}content-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`;
}

/** Answers `error` in JSON and closes the connection once it is written. */
export function refuse(res: ServerResponse, status: number, error: string): void {
  const body = JSON.stringify({ error });
  res.writeHead(status, { ...SERVER_ERROR_HEADERS, "content-length": String(body.length), connection: "close" });
  res.end(body);
}

/**
 * Why a parsed request cannot be trusted to be framed as the client meant,
 * or null. RFC 9112 §3.2: an HTTP/1.1 request needs exactly one Host, and a
 * valid one (node:http's own check answers a bare 400 and lets a second Host
 * through). §6.3: a Transfer-Encoding whose last coding is not chunked
 * leaves the length unknown (Node's and Deno's parsers refuse it, Bun's
 * passes it on). Either way the connection closes after the 400: a client
 * that sends such a request may not agree with us on where the next starts.
 */
export function framingProblem(req: IncomingMessage): string | null {
  const host = req.headers.host;
  if (host === undefined ? req.httpVersionMinor >= 1 || req.httpVersionMajor > 1 : !isValidHost(host) || hostTwice(req.rawHeaders)) {
    return "Bad request: missing, repeated or malformed Host header";
  }
  const te = req.headers["transfer-encoding"];
  if (te !== undefined && (req.httpVersionMinor === 0 || !/(?:^|,)[ \t]*chunked[ \t]*$/i.test(te))) {
    return "Bad request: a Transfer-Encoding that does not end with chunked";
  }
  return null;
}

function hostTwice(raw: string[]): boolean {
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === 4 && raw[i].toLowerCase() === "host" && ++seen > 1) return true;
  return false;
}

/**
 * Shapes what node:http answers on its own: a request its parser refuses
 * (a bad Content-Length, Content-Length with Transfer-Encoding, a head too
 * large, one too slow), an `Expect` it does not know (417), and CONNECT
 * (which it would drop without a word). The connection closes after each.
 */
export function shapeRuntimeAnswers(server: Server): void {
  // A parser error can come after the app began its answer to the same
  // request (Bun reads a bad chunked body only then): a second answer would
  // corrupt the first, so the connection is only cut.
  const answering = new WeakMap<object, ServerResponse>();
  server.on("request", (req: IncomingMessage, res: ServerResponse) => answering.set(req.socket, res));
  const refused = new WeakSet<Socket>();
  server.on("clientError", (err: Error & { code?: string }, socket: Socket) => {
    // A connection already answered: the parser keeps failing on what the client still sends, which is dropped (below).
    if (refused.has(socket)) return;
    if (err.code === "ECONNRESET" || !socket.writable || answering.get(socket)?.headersSent) return void socket.destroy();
    const status = err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
    refused.add(socket);
    socket.end(rawAnswer(status));
    // A lingering close, as nginx and Apache make: closing at once with the
    // rest of a large request unread makes the kernel reset the connection,
    // and a reset can destroy the answer before the client reads it. The rest
    // is read and dropped for at most two seconds, then the connection goes.
    socket.resume();
    setTimeout(() => socket.destroy(), 2000).unref?.();
  });
  server.on("checkExpectation", (_req: IncomingMessage, res: ServerResponse) => refuse(res, 417, "Expectation Failed"));
  server.on("connect", (_req: IncomingMessage, socket: Socket) => socket.end(rawAnswer(501, "CONNECT is not served here")));
}
