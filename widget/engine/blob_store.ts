/**
 * Where a picked file is kept while it uploads, so it continues after a reload without being
 * picked again (IndexedDB in a browser: it stores a Blob by reference, never read into JS
 * memory). Keys are the server's upload ids.
 */
export interface BlobStore {
  /** Rejects when the store refuses (a quota error): the file is then asked for again. */
  put(key: string, blob: Blob): Promise<void>;
  get(key: string): Promise<Blob | null>;
  delete(key: string): Promise<void>;
}

/** A BlobStore in memory (tests); `quota` bytes in all, over which put() rejects. */
export class MemoryBlobStore implements BlobStore {
  readonly map = new Map<string, Blob>();
  constructor(readonly quota = Infinity) {}
  put(key: string, blob: Blob): Promise<void> {
    let used = blob.size;
    for (const b of this.map.values()) used += b.size;
    if (used > this.quota) {
      return Promise.reject(new DOMException("quota", "QuotaExceededError"));
    }
    this.map.set(key, blob);
    return Promise.resolve();
  }
  get(key: string): Promise<Blob | null> {
    return Promise.resolve(this.map.get(key) ?? null);
  }
  delete(key: string): Promise<void> {
    this.map.delete(key);
    return Promise.resolve();
  }
}
