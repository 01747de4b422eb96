import assert from "node:assert/strict";
import { renderChart } from "./chart.ts";

Deno.test("chart - one bar per stack in each panel, ours highlighted, text escaped", () => {
  const svg = renderChart([
    { stack: "limit", mbPerSecond: 400, peakRssMiB: 70 },
    { stack: "h5-uploader", mbPerSecond: 380, peakRssMiB: 90 },
    { stack: "express+multer <node>", mbPerSecond: 120, peakRssMiB: 200 },
  ], "a & b");
  assert.match(svg, /^<svg /);
  assert.equal(svg.match(/<rect x=/g)?.length, 6);
  assert.equal(svg.match(/class="us"/g)?.length, 2);
  assert.ok(svg.includes("a &amp; b"));
  assert.ok(svg.includes("express+multer &lt;node&gt;"));
  assert.ok(svg.includes("380 MB/s") && svg.includes("200 MiB"));
});
