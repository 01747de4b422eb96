/** A dependency-free SVG: throughput and peak memory per stack, as two bar panels. */
export interface ChartSeries {
  stack: string;
  mbPerSecond: number;
  peakRssMiB: number;
}

const escape = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function panel(
  title: string,
  rows: { label: string; value: number; text: string; highlight: boolean }[],
  x: number,
  width: number,
): string {
  const max = Math.max(1, ...rows.map((r) => r.value));
  const labelWidth = 175;
  const bar = width - labelWidth - 80;
  const parts = [`<text x="${x}" y="56" class="h">${escape(title)}</text>`];
  rows.forEach((row, i) => {
    const y = 72 + i * 34;
    const w = Math.max(2, (row.value / max) * bar);
    parts.push(
      `<text x="${x}" y="${y + 17}" class="l">${escape(row.label)}</text>`,
      `<rect x="${x + labelWidth}" y="${y + 4}" width="${w.toFixed(1)}" height="20" rx="3" class="${
        row.highlight ? "us" : "peer"
      }"/>`,
      `<text x="${x + labelWidth + w + 6}" y="${y + 19}" class="v">${escape(row.text)}</text>`,
    );
  });
  return parts.join("\n");
}

export function renderChart(series: ChartSeries[], caption: string): string {
  const width = 900;
  const height = 96 + series.length * 34;
  const us = (stack: string) => stack.startsWith("h5-uploader");
  const speed = series.map((s) => ({
    label: s.stack,
    value: s.mbPerSecond,
    text: `${Math.round(s.mbPerSecond)} MB/s`,
    highlight: us(s.stack),
  }));
  const memory = series.map((s) => ({
    label: s.stack,
    value: s.peakRssMiB,
    text: `${Math.round(s.peakRssMiB)} MiB`,
    highlight: us(s.stack),
  }));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${
    escape(caption)
  }">
<style>
  text { font: 13px system-ui, sans-serif; fill: #111827 }
  .t { font-size: 15px; font-weight: 600 } .h { font-weight: 600 } .v { fill: #374151 }
  .us { fill: #2563eb } .peer { fill: #9ca3af }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="16" y="26" class="t">${escape(caption)}</text>
${panel("Single upload throughput (higher is better)", speed, 16, width / 2 - 16)}
${panel("Server peak RSS (lower is better)", memory, width / 2 + 8, width / 2 - 16)}
</svg>
`;
}
