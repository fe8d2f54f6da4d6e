/**
 * Runs at most `size` tasks at once; the others wait in arrival order.
 *
 * @example const limit = createLimiter(2); await limit.run(() => work());
 */
export function createLimiter(size: number) {
  let max = Math.max(1, Math.floor(size));
  let running = 0;
  const waiting: (() => void)[] = [];
  const startWaiting = () => {
    while (running < max && waiting.length) {
      running++;
      waiting.shift()!();
    }
  };
  return {
    async run<T>(task: () => Promise<T>): Promise<T> {
      if (running < max) running++;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await task();
      } finally {
        running--;
        startWaiting();
      }
    },
    /** Changes the limit; waiting tasks start if it grew. */
    resize(n: number): void {
      max = Math.max(1, Math.floor(n));
      startWaiting();
    },
    get running() {
      return running;
    },
    get waiting() {
      return waiting.length;
    },
  };
}
