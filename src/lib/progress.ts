/**
 * Progress of long work (imports, exports): a function to call with the
 * count done so far, which calls `report` once per tenth of `total` crossed,
 * and not at all for work under `minTotal` items (its summary line says it
 * all).
 *
 * @example const progress = tenths(100_000, (done, pct) => log(`${done} done (${pct}%)`));
 *          progress(10_000); // logs "10000 done (10%)"
 */
export function tenths(total: number, report: (done: number, percent: number) => void, minTotal = 10_000): (done: number) => void {
  let said = 0;
  return (done) => {
    if (total < minTotal) return;
    const tenth = Math.floor((done * 10) / total);
    if (tenth <= said) return;
    said = tenth;
    report(done, tenth * 10);
  };
}

/**
 * A count and its noun, singular for one: "1 user", "2 users", "1 second".
 *
 * @example counted(1, "session") // "1 session"
 */
export function counted(n: number | string, noun: string, plural = `${noun}s`): string {
  return `${n} ${Number(String(n).replace(/,/g, "")) === 1 ? noun : plural}`;
}
