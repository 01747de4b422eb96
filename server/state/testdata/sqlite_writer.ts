// Child process for the durability test: writes one upload, reports "ok", then idles until
// the parent kills it with SIGKILL, so nothing gets a chance to flush on the way out.
import { SqliteStore } from "../sqlite_store.ts";
import { upload } from "../store_contract.ts";

const path = Deno.args[0];
if (!path) throw new Error("usage: sqlite_writer.ts <db path>");

const store = new SqliteStore(path);
await store.putUpload(upload({ id: "durable", offset: 12345, status: "uploading" }));
console.log("ok");
// A pending promise alone would let Deno exit; a timer keeps the process alive.
setInterval(() => {}, 1 << 30);
