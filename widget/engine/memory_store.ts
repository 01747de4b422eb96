import type { KeyValueStore } from "./types.ts";

/** A KeyValueStore in memory (tests, and where nothing may persist). */
export class MemoryKeyValueStore implements KeyValueStore {
  readonly map = new Map<string, string>();
  get(key: string): string | null {
    return this.map.get(key) ?? null;
  }
  set(key: string, value: string): void {
    this.map.set(key, value);
  }
  remove(key: string): void {
    this.map.delete(key);
  }
}
