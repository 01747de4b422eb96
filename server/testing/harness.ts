/** An in-process service and app over a temp folder, for route and service tests. */
import { TokenSigner } from "../auth/token.ts";
import { type Config, loadConfig } from "../config.ts";
import { createApp } from "../app.ts";
import { MemoryLocker } from "../lock/memory_locker.ts";
import { MemoryStore } from "../state/memory_store.ts";
import { LocalDiskStorage } from "../storage/local_disk.ts";
import { EventBus } from "../upload/event_bus.ts";
import { UploadService } from "../upload/service.ts";
import type { RoomEvent } from "../../protocol/events.ts";

export interface Harness {
  app: ReturnType<typeof createApp>;
  service: UploadService;
  /** The service's locker: a test may hold an upload's lock (`upload:<id>`) itself. */
  locker: MemoryLocker;
  events: RoomEvent[];
  root: string;
  config: Config;
  clock: { now: number };
  [Symbol.asyncDispose](): Promise<void>;
}

export async function harness(env: Record<string, string> = {}): Promise<Harness> {
  const root = await Deno.makeTempDir({ prefix: "h5-test-" });
  const config = loadConfig({ H5_DATA_DIR: root, ...env });
  const clock = { now: Date.now() };
  const bus = new EventBus();
  const events: RoomEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const storage = new LocalDiskStorage(`${root}/uploads`);
  const locker = new MemoryLocker();
  const service = new UploadService({
    store: new MemoryStore(),
    storage,
    locker,
    bus,
    tokens: new TokenSigner("test-secret-0123456789", () => clock.now),
    config,
    now: () => clock.now,
  });
  const app = createApp({
    service,
    allowedOrigins: config.allowedOrigins,
    maxFileSize: config.maxFileSize,
  });
  return {
    app,
    service,
    locker,
    events,
    root,
    config,
    clock,
    async [Symbol.asyncDispose]() {
      await Deno.remove(root, { recursive: true }).catch(() => {});
    },
  };
}

/** Minimal valid file heads for the magic-number checks. */
export const JPEG_HEAD = new Uint8Array([
  0xff,
  0xd8,
  0xff,
  0xe0,
  0,
  0x10,
  0x4a,
  0x46,
  0x49,
  0x46,
  0,
  1,
]);
/** Signature and a 1x1 IHDR chunk: file-type names a PNG only after its IHDR. */
export const PNG_HEAD = new Uint8Array([
  ...[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
  ...[0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52],
  ...[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0],
  ...[0x90, 0x77, 0x53, 0xde],
]);

/** `size` bytes starting with `head`, the rest pseudo-random. */
export function fileBytes(size: number, head: Uint8Array = JPEG_HEAD): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  let x = 2463534242;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  bytes.set(head.subarray(0, Math.min(head.length, size)));
  return bytes;
}

export function b64(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

export function metadata(fields: Record<string, string>): string {
  return Object.entries(fields).map(([k, v]) => `${k} ${b64(v)}`).join(",");
}

export async function sha256Hex(data: Uint8Array<ArrayBuffer> | ArrayBuffer): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
