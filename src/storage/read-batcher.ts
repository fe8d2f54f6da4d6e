/**
 * Point reads gathered into batches: the hot path of a shared storage (one
 * session read per request) costs mostly per call, not per key, in Deno KV
 * (`getMany` of ten keys costs about three single `get`s) and in PostgreSQL
 * (a round trip and a statement per call).
 *
 * A read starts at once while fewer than `maxInFlight` batches are out, so
 * an idle server adds no wait. Under load the slots are busy, and the keys
 * asked for meanwhile go out together, in one call, as soon as a slot
 * frees. Every read therefore starts after it was asked for: a request
 * never sees a state older than its own arrival (a logout that completed
 * before a request came in is always seen by it), which a cache could not
 * promise. Requests for the same key waiting together share one read.
 *
 * With `timeoutMs`, every request settles within that time of being asked,
 * waiting included: a storage that stops answering holds the slots, and the
 * requests queued behind them must not wait for the slots and then for a
 * deadline of their own.
 */
export type ReadBatcher<K, V> = (key: K) => Promise<V>;

export type ReadBatcherOptions<K, V> = {
  /** Reads keys (distinct, at most `maxBatch`); answers in the same order. */
  readMany: (keys: K[]) => Promise<V[]>;
  /** The identity of a key, for sharing one read among requests of one key. */
  id: (key: K) => string;
  maxBatch: number;
  maxInFlight: number;
  /** How long a request may take, waiting for a slot included; with `timeoutError`, the error it then gets. */
  timeoutMs?: number;
  timeoutError?: () => Error;
  /** The clock for `timeoutMs` (ms). */
  now?: () => number;
};

type Waiter<V> = { resolve: (v: V) => void; reject: (e: unknown) => void };
/** The requests of one key. */
type Slot<K, V> = { key: K; waiters: Waiter<V>[] };

/** A function reading one key through batches (see the top of this file). */
export function createReadBatcher<K, V>(o: ReadBatcherOptions<K, V>): ReadBatcher<K, V> {
  const { readMany, id, maxBatch, maxInFlight, timeoutMs = 0 } = o;
  const now = o.now ?? Date.now;
  let pending = new Map<string, Slot<K, V>>();
  /** When the oldest request of `pending` was asked. */
  let pendingSince = 0;
  let inFlight = 0;
  let scheduled = false;

  function settle(slots: Slot<K, V>[], outcome: { values: V[] } | { error: unknown }): void {
    for (let i = 0; i < slots.length; i++) {
      for (const w of slots[i].waiters) "values" in outcome ? w.resolve(outcome.values[i]) : w.reject(outcome.error);
      slots[i].waiters = []; // settled once: a late answer after a timeout changes nothing
    }
  }

  const timedOut = () => o.timeoutError?.() ?? new Error(`no answer within ${timeoutMs} ms`);

  /** Requests still waiting for a slot when their time is up (slots held by calls that do not come back) fail. */
  function armPending(): void {
    if (timeoutMs <= 0) return;
    const group = pending;
    setTimeout(() => {
      if (group !== pending) return; // sent meanwhile: its batch's timer is in charge
      pending = new Map();
      settle([...group.values()], { error: timedOut() });
    }, Math.max(0, pendingSince + timeoutMs - now()));
  }

  function send(): void {
    scheduled = false;
    while (inFlight < maxInFlight && pending.size) {
      let batch: Map<string, Slot<K, V>>;
      const since = pendingSince;
      if (pending.size <= maxBatch) {
        batch = pending;
        pending = new Map();
      } else {
        batch = new Map();
        const rest = new Map<string, Slot<K, V>>();
        for (const [k, s] of pending) (batch.size < maxBatch ? batch : rest).set(k, s);
        pending = rest;
        armPending(); // the rest keeps its oldest request's deadline
      }
      inFlight++;
      const slots = [...batch.values()];
      let timer: ReturnType<typeof setTimeout> | undefined;
      if (timeoutMs > 0) {
        const left = Math.max(0, since + timeoutMs - now());
        timer = setTimeout(() => settle(slots, { error: timedOut() }), left);
      }
      let read: Promise<V[]>;
      try {
        read = readMany(slots.map((s) => s.key));
      } catch (e) {
        read = Promise.reject(e);
      }
      read.then((values) => settle(slots, { values }), (error) => settle(slots, { error })).finally(() => {
        clearTimeout(timer);
        inFlight--;
        if (pending.size) send();
      });
    }
  }

  return (key) =>
    new Promise<V>((resolve, reject) => {
      const k = id(key);
      if (pending.size === 0) {
        pendingSince = now();
        armPending();
      }
      const slot = pending.get(k);
      if (slot) slot.waiters.push({ resolve, reject });
      else pending.set(k, { key, waiters: [{ resolve, reject }] });
      // Keys asked for in the same turn of the event loop go out together.
      if (!scheduled && inFlight < maxInFlight) {
        scheduled = true;
        queueMicrotask(send);
      }
    });
}
