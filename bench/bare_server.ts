/**
 * The limit: a bare `Deno.serve` that streams a request body into a file with `pipeTo`.
 * `BARE_SYNC=1` adds one fdatasync before answering (the cost of durability alone).
 *   PORT=0 deno run -A bench/bare_server.ts <dir>
 */
const dir = Deno.args[0] ?? ".";
const sync = Deno.env.get("BARE_SYNC") === "1";
Deno.serve({
  port: Number(Deno.env.get("PORT") ?? 0),
  hostname: "127.0.0.1",
  onListen: ({ port }) => console.log(`listening on http://127.0.0.1:${port}`),
}, async (req) => {
  const path = `${dir}/bare-${crypto.randomUUID()}`;
  const file = await Deno.open(path, { write: true, createNew: true });
  await req.body!.pipeTo(file.writable);
  if (sync) {
    const again = await Deno.open(path, { write: true });
    await again.syncData();
    again.close();
  }
  return new Response(null, { status: 204 });
});
