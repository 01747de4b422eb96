/** The engine with its browser wiring: XHR (upload progress), localStorage, Socket.IO. */
import { browserWake, LocalKeyValueStore, UploadEngine, xhrHttpStack } from "./engine/mod.ts";
import { IdbBlobStore } from "./idb_blob_store.ts";
import { connectSocket } from "./socket.ts";
import type { EngineConfig } from "./upload_controller.ts";

export function createBrowserEngine(config: EngineConfig): UploadEngine {
  return new UploadEngine({
    ...config,
    http: xhrHttpStack,
    store: new LocalKeyValueStore(),
    blobs: new IdbBlobStore(),
    connectSocket,
    wake: browserWake,
  });
}
