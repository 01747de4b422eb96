/**
 * The widget engine: `UploadEngine` and its injected parts. In a browser: `xhrHttpStack`,
 * `LocalKeyValueStore`, and socket.io-client's `io` as `connectSocket`.
 */
export { UploadEngine } from "./engine.ts";
export { xhrHttpStack } from "./browser_http.ts";
export { browserWake } from "./browser_wake.ts";
export { fetchHttpStack } from "./fetch_http.ts";
export { LocalKeyValueStore } from "./local_store.ts";
export { MemoryKeyValueStore } from "./memory_store.ts";
export { accepts, formatBytes } from "./checks.ts";
export type * from "./types.ts";
