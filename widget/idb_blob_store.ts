/**
 * The engine's BlobStore in IndexedDB: a File is stored as a Blob by reference (the browser
 * copies it to disk itself), so a 32 MiB video is never read into JS memory. Where IndexedDB
 * is missing or refused (private mode, a full quota) every call rejects and the engine asks
 * for the file after a reload instead.
 */
import type { BlobStore } from "./engine/blob_store.ts";

const DB = "h5-uploader";
const STORE = "files";

export class IdbBlobStore implements BlobStore {
  #db: Promise<IDBDatabase> | null = null;

  #open(): Promise<IDBDatabase> {
    return this.#db ??= new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    }).catch((error) => {
      this.#db = null;
      throw error;
    });
  }

  async #run<T>(mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
    const tx = (await this.#open()).transaction(STORE, mode);
    const req = op(tx.objectStore(STORE));
    return await new Promise<T>((resolve, reject) => {
      // The transaction's end, not the request's: a quota error aborts at commit.
      tx.oncomplete = () => resolve(req.result);
      tx.onabort = tx.onerror = () => reject(tx.error ?? req.error);
    });
  }

  async put(key: string, blob: Blob): Promise<void> {
    await this.#run("readwrite", (s) => s.put(blob, key));
  }

  async get(key: string): Promise<Blob | null> {
    const value = await this.#run("readonly", (s) => s.get(key));
    return value instanceof Blob ? value : null;
  }

  async delete(key: string): Promise<void> {
    await this.#run("readwrite", (s) => s.delete(key));
  }
}
