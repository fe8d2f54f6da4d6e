/**
 * A Map holding at most `max` entries: setting a key makes it the newest,
 * and past `max` the oldest entries go first. For caches and counters that
 * must not grow with the traffic an attacker chooses.
 *
 * @example const recent = new BoundedMap<string, number>(2);
 *          recent.set("a", 1); recent.set("b", 2); recent.set("c", 3); // "a" is gone
 */
export class BoundedMap<K, V> {
  readonly #map = new Map<K, V>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  /** Stores `value` under `key` as the newest entry, dropping the oldest ones past the bound. */
  set(key: K, value: V): this {
    this.#map.delete(key);
    this.#map.set(key, value);
    while (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value as K);
    return this;
  }

  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  /** The keys, oldest first (a copy: deleting while iterating is safe). */
  keys(): K[] {
    return [...this.#map.keys()];
  }
}
