/**
 * Describing errors of any origin (our own, the runtime's system errors,
 * libraries') in one line, for logs and messages.
 */

/** The `code` of a Node-style system error ("ENOENT", "EEXIST"...), if any. */
export function errCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * The first line of an error's message (some libraries, @deno/kv among
 * them, append a native stack trace to theirs), or the value as text.
 */
export function errText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n")[0] || (errCode(e) ?? text);
}
