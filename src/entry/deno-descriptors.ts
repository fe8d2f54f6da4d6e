/**
 * Descriptors this process can still open: Deno refuses /proc/self/limits
 * without --allow-all and has no getrlimit, so /dev/null is opened until
 * that fails (at most `max` times), then everything is closed again. An
 * open and its close cost about 15 µs: 2,048 of them take 30 ms of startup
 * (16,384 took 155 ms), and a default cap of about 1,600 connections per
 * process is plenty behind a proxy; MAX_CONNECTIONS sets a higher one.
 */
export function freeDescriptors(max = 2_048): number {
  const files: Deno.FsFile[] = [];
  try {
    while (files.length < max) files.push(Deno.openSync("/dev/null"));
  } catch {
    // the limit
  }
  for (const f of files) f.close();
  return files.length;
}
