// Prints one line per Lighthouse JSON report given on the command line: performance score,
// bytes transferred, LCP, accessibility score, and the requests by type. Never fails.
import { readFileSync } from "node:fs";

const targets = { performance: 95, bytes: 250 * 1024, lcp: 2500, accessibility: 100 };
const pad = (s, n) => String(s).padEnd(n);
console.log(pad("page", 28) + pad("perf", 6) + pad("KB", 8) + pad("LCP s", 8) + pad("FCP s", 8) + pad("TBT ms", 8) + pad("CLS", 7) + pad("a11y", 6) + "requests");
for (const file of process.argv.slice(2)) {
  let lhr;
  try {
    lhr = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    console.log(`${file}: no report (${err.message})`);
    continue;
  }
  const audit = (id) => lhr.audits[id] && lhr.audits[id].numericValue;
  const perf = Math.round((lhr.categories.performance.score || 0) * 100);
  const a11y = Math.round((lhr.categories.accessibility.score || 0) * 100);
  const bytes = audit("total-byte-weight") || 0;
  const lcp = audit("largest-contentful-paint") || 0;
  const fcp = audit("first-contentful-paint") || 0;
  const tbt = audit("total-blocking-time") || 0;
  const cls = audit("cumulative-layout-shift") || 0;
  const items = (lhr.audits["network-requests"]?.details?.items) || [];
  const byType = {};
  for (const r of items) byType[r.resourceType] = (byType[r.resourceType] || 0) + 1;
  const misses = [];
  if (perf < targets.performance) misses.push("perf");
  if (bytes > targets.bytes) misses.push("bytes");
  if (lcp >= targets.lcp) misses.push("LCP");
  if (a11y < targets.accessibility) misses.push("a11y");
  const page = new URL(lhr.finalDisplayedUrl || lhr.requestedUrl).pathname;
  console.log(
    pad(page.slice(0, 27), 28) + pad(perf, 6) + pad((bytes / 1024).toFixed(1), 8) + pad((lcp / 1000).toFixed(2), 8) +
      pad((fcp / 1000).toFixed(2), 8) + pad(Math.round(tbt), 8) + pad(cls.toFixed(3), 7) + pad(a11y, 6) +
      Object.entries(byType).map(([k, v]) => `${k}:${v}`).join(" ") +
      (misses.length ? `  (under target: ${misses.join(", ")})` : ""),
  );
}
console.log(`targets: performance >= ${targets.performance}, <= 250 KB, LCP < 2.5 s, accessibility ${targets.accessibility}`);
