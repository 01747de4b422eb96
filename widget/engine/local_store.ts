import type { KeyValueStore } from "./types.ts";

/** What the store uses of `localStorage`. */
export type StorageLike = Pick<Storage, "getItem" | "setItem" | "removeItem">;

/**
 * `localStorage` that never throws: where it is missing or refuses (Safari private mode,
 * a full quota, storage blocked in an iframe) values are kept in memory for this page.
 */
export class LocalKeyValueStore implements KeyValueStore {
  #memory = new Map<string, string>();
  #storage: () => StorageLike | undefined;

  constructor(storage?: StorageLike) {
    // Reading globalThis.localStorage itself throws where storage is blocked.
    this.#storage = () => storage ?? globalThis.localStorage;
  }

  get(key: string): string | null {
    try {
      return this.#storage()?.getItem(key) ?? this.#memory.get(key) ?? null;
    } catch {
      return this.#memory.get(key) ?? null;
    }
  }

  set(key: string, value: string): void {
    this.#memory.set(key, value);
    try {
      this.#storage()?.setItem(key, value);
    } catch {
      // kept in memory
    }
  }

  remove(key: string): void {
    this.#memory.delete(key);
    try {
      this.#storage()?.removeItem(key);
    } catch {
      // removed from memory
    }
  }
}
