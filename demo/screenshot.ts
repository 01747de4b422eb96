/**
 * Screenshots of the demo page at phone and desktop sizes, with two files uploaded, into
 * test-artifacts/ (a visual check, not a test).
 *
 *   deno run -A demo/screenshot.ts [url] [--chromium=/usr/bin/chromium]
 */
import { Buffer } from "node:buffer";
import { chromium } from "playwright-core";

const url = Deno.args.find((a) => !a.startsWith("--")) ?? "http://127.0.0.1:8005/";
const executablePath = Deno.args.find((a) => a.startsWith("--chromium="))?.slice(11) ??
  "/usr/bin/chromium";
const out = new URL("../test-artifacts/", import.meta.url).pathname;
await Deno.mkdir(out, { recursive: true });

/** A 64×48 PNG of one colour (a valid image, so the thumbnail renders). */
async function png(r: number, g: number, b: number): Promise<Uint8Array> {
  const canvas = new OffscreenCanvasLike(64, 48, [r, g, b]);
  return await canvas.encode();
}

/** Minimal PNG encoder (stored deflate blocks) so no canvas is needed. */
class OffscreenCanvasLike {
  constructor(private w: number, private h: number, private rgb: number[]) {}
  async encode(): Promise<Uint8Array> {
    const raw = new Uint8Array((this.w * 3 + 1) * this.h);
    for (let y = 0; y < this.h; y++) {
      for (let x = 0; x < this.w; x++) {
        raw.set(this.rgb.map((c) => (c + x * 2 + y) & 255), y * (this.w * 3 + 1) + 1 + x * 3);
      }
    }
    const deflated = new Uint8Array(
      await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate")))
        .arrayBuffer(),
    );
    const chunk = (type: string, data: Uint8Array) => {
      const body = new Uint8Array([...new TextEncoder().encode(type), ...data]);
      const len = new DataView(new ArrayBuffer(4));
      len.setUint32(0, data.length);
      const crc = new DataView(new ArrayBuffer(4));
      crc.setUint32(0, crc32(body));
      return [...new Uint8Array(len.buffer), ...body, ...new Uint8Array(crc.buffer)];
    };
    const ihdr = new DataView(new ArrayBuffer(13));
    ihdr.setUint32(0, this.w);
    ihdr.setUint32(4, this.h);
    ihdr.setUint8(8, 8);
    ihdr.setUint8(9, 2);
    return new Uint8Array([
      137,
      80,
      78,
      71,
      13,
      10,
      26,
      10,
      ...chunk("IHDR", new Uint8Array(ihdr.buffer)),
      ...chunk("IDAT", deflated),
      ...chunk("IEND", new Uint8Array()),
    ]);
  }
}

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

const browser = await chromium.launch({
  executablePath,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
  ],
});
try {
  const files = [
    {
      name: "清晨的观云台-sunrise-over-the-cloud-terrace.png",
      mimeType: "image/png",
      buffer: Buffer.from(await png(200, 120, 60)),
    },
    { name: "cable-car.png", mimeType: "image/png", buffer: Buffer.from(await png(40, 110, 160)) },
    { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not allowed") },
  ];
  for (
    const [name, viewport, scheme] of [
      ["phone", { width: 375, height: 667 }, "light"],
      ["phone-320", { width: 320, height: 640 }, "light"],
      ["desktop", { width: 1280, height: 800 }, "light"],
      ["desktop-dark", { width: 1280, height: 800 }, "dark"],
    ] as const
  ) {
    const page = await browser.newPage({
      viewport,
      colorScheme: scheme,
      locale: Deno.args.includes("--zh") ? "zh-CN" : "en-US",
      hasTouch: name.startsWith("phone"),
      isMobile: name.startsWith("phone"),
      deviceScaleFactor: name.startsWith("phone") ? 2 : 1,
    });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await page.goto(url);
    await page.locator("h5-uploader").waitFor();
    await page.locator("h5-uploader input[type=file]").setInputFiles(files);
    await page.locator("h5-uploader").evaluate((el: HTMLElement & { start(): Promise<void> }) =>
      el.start()
    );
    await page.waitForFunction(
      () => (document.querySelector("h5-uploader") as unknown as { complete: boolean }).complete,
      undefined,
      { timeout: 15_000 },
    ).catch(() => errors.push("not complete after 15 s"));
    await page.waitForTimeout(300);
    const scroll = await page.evaluate(() =>
      document.documentElement.scrollWidth - document.documentElement.clientWidth
    );
    await page.screenshot({ path: `${out}demo-${name}.png`, fullPage: true });
    await page.locator("#slot").screenshot({ path: `${out}widget-${name}.png` });
    console.log(
      `${name}: ${viewport.width}x${viewport.height}, horizontal overflow ${scroll}px` +
        (errors.length ? `, errors: ${errors.join(" | ")}` : ""),
    );
    await page.close();
  }
} finally {
  await browser.close();
}
