/**
 * Where log lines go: lines written within a few milliseconds share one
 * write (an access-log line per request would otherwise cost a write per
 * request). `flush()` writes what is pending at once: before the process
 * exits, and for lines that must be out before anything else (the startup
 * line that scripts wait for).
 */
export function createLogSink(write: (text: string) => void, delayMs = 5, maxBytes = 64 * 1024) {
  let pending: string[] = [];
  let bytes = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (!pending.length) return;
    const text = pending.join("\n") + "\n";
    pending = [];
    bytes = 0;
    write(text);
  };
  return {
    line(line: string): void {
      pending.push(line);
      bytes += line.length;
      if (bytes >= maxBytes) flush();
      else timer ??= setTimeout(flush, delayMs);
    },
    flush,
  };
}
