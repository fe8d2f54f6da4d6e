import { HttpError } from "./errors.ts";

/**
 * Reads a request body up to `limit` bytes; a larger one is refused with 413
 * before it is read in full (Content-Length when given, else while
 * streaming), so a huge upload cannot exhaust memory.
 */
async function readBodyLimited(req: Request, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  const declared = req.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > limit) throw tooLarge(limit);
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => {});
        throw tooLarge(limit);
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof HttpError) throw e;
    // The client went away or sent a broken chunked body.
    throw new HttpError(400, "Wrong format");
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

const tooLarge = (limit: number) => new HttpError(413, `Request body too large (limit ${limit} bytes)`);

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Media type without parameters, lower-cased; "" when absent. */
function mediaType(req: Request): string {
  return (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
}

/**
 * The JSON object of a POST/PUT /users body, or 400 `Wrong format`: no body,
 * another media type, bytes that are not UTF-8, malformed JSON, or a JSON
 * value that is not an object (the original answered 500 to arrays and
 * strings).
 */
export async function readJsonObject(req: Request, limit: number): Promise<Record<string, unknown>> {
  if (!isJsonType(mediaType(req))) throw new HttpError(400, "Wrong format");
  const bytes = await readBodyLimited(req, limit);
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    throw new HttpError(400, "Wrong format");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new HttpError(400, "Wrong format");
  for (const [k, v] of Object.entries(value)) if (k.includes("\0") || hasNul(v)) refuseNul(JSON.stringify(k.replaceAll("\0", "")));
  return value as Record<string, unknown>;
}

/** True when a string or key of `value`, at any depth, holds a NUL (a loop: a body may nest deeper than the stack). */
function hasNul(value: unknown): boolean {
  const todo = [value];
  while (todo.length) {
    const v = todo.pop();
    if (typeof v === "string") {
      if (v.includes("\0")) return true;
    } else if (Array.isArray(v)) {
      for (const item of v) todo.push(item);
    } else if (v !== null && typeof v === "object") {
      for (const k in v) {
        if (k.includes("\0")) return true;
        todo.push((v as Record<string, unknown>)[k]);
      }
    }
  }
  return false;
}

/**
 * The 400 for a field holding a NUL: no email, name or password has one,
 * PostgreSQL refuses it in text (a 503 before this check), and C code
 * reading the value later would stop there.
 */
function refuseNul(field: string): never {
  throw new HttpError(400, `Bad request: ${field} contains a NUL character`);
}

const isJsonType = (type: string) => type === "application/json" || /^application\/[^/\s]+\+json$/.test(type);

/**
 * The string fields of a login body: form fields (urlencoded or multipart,
 * the first value of each name), or the string members of a JSON object
 * (every API client sends JSON; the original ignored it). A JSON body that
 * is not an object is 400 `Wrong format`, as on `/users`. Any other body, or
 * a form that does not parse, yields no fields (so the login answers `email
 * missing`, as the original does when `request.form` is empty).
 */
export async function readLoginFields(req: Request, limit: number): Promise<Map<string, string>> {
  const type = mediaType(req);
  const fields = new Map<string, string>();
  if (isJsonType(type)) {
    for (const [k, v] of Object.entries(await readJsonObject(req, limit))) if (typeof v === "string") fields.set(k, v);
    return fields;
  }
  if (type !== "application/x-www-form-urlencoded" && type !== "multipart/form-data") {
    // Drain within the limit so an oversized body still gets its 413.
    await readBodyLimited(req, limit);
    return fields;
  }
  const bytes = await readBodyLimited(req, limit);
  try {
    if (type === "application/x-www-form-urlencoded") {
      for (const [k, v] of new URLSearchParams(utf8.decode(bytes))) if (!fields.has(k)) fields.set(k, v);
    } else {
      const form = await new Response(bytes, { headers: { "content-type": req.headers.get("content-type") ?? "" } }).formData();
      for (const [k, v] of form) if (!fields.has(k) && typeof v === "string") fields.set(k, v);
    }
  } catch {
    fields.clear();
  }
  for (const [k, v] of fields) if (k.includes("\0") || v.includes("\0")) refuseNul(JSON.stringify(k.replaceAll("\0", "")));
  return fields;
}
