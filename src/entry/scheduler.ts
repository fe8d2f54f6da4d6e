/**
 * Background maintenance of a running server (the expired-session sweep):
 * each task on its own timer, never two runs of one task at once, failures
 * logged. At a clean stop `drain()` stops the timers and runs every task
 * once more, so that the last state written (the file storage's data files)
 * is already swept.
 */
export function createScheduler(onError: (name: string, e: unknown) => void) {
  const tasks: { name: string; task: () => Promise<unknown>; timer: ReturnType<typeof setInterval>; running: Promise<unknown> | null }[] =
    [];
  const runOnce = (
    t: (typeof tasks)[number],
  ) => (t.running ??= t.task().catch((e) => onError(t.name, e)).finally(() => (t.running = null)));
  return {
    schedule(name: string, everyMs: number, task: () => Promise<unknown>): void {
      const entry = { name, task, timer: 0 as unknown as ReturnType<typeof setInterval>, running: null };
      entry.timer = setInterval(() => void runOnce(entry), everyMs);
      tasks.push(entry);
    },
    async drain(): Promise<void> {
      for (const t of tasks) clearInterval(t.timer);
      for (const t of tasks) {
        await t.running;
        await runOnce(t);
      }
    },
  };
}
