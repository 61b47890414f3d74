// Screenshots of the pages the asset pipeline serves, at phone width (360 px) and desktop
// (1280 px), once the network is idle and the fonts are in, for a person to compare before and
// after a change to the assets (uses the puppeteer-core that lighthouse brings):
//   node benches/lighthouse/screenshots.mjs BASE_URL SIMULATOR_URL SUFFIX
// writes docs/screenshots/speed-{page}-{width}-{SUFFIX}.png.
import { fileURLToPath } from "node:url";
import path from "node:path";
import puppeteer from "puppeteer-core";

const [base, sim, suffix] = process.argv.slice(2);
if (!suffix) {
  console.log("usage: node screenshots.mjs BASE_URL SIMULATOR_URL SUFFIX");
  process.exit(0);
}
const out = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../docs/screenshots");
const pages = {
  home: `${base}/`,
  ente: `${base}/enti/c_esempio`,
  modulo: `${base}/spontaneo?codIpaEnte=c_esempio&codTipo=CONTRIBUTO_EVENTI`,
  avviso: `${base}/avviso`,
  operatore: `${base}/operatore/accedi`,
  simulatore: `${sim}/`,
};
const browser = await puppeteer.launch({
  executablePath: process.env.CHROME_PATH || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--hide-scrollbars"],
});
try {
  for (const [name, url] of Object.entries(pages)) {
    for (const [width, height] of [[360, 1400], [1280, 1000]]) {
      const page = await browser.newPage();
      await page.setViewport({ width, height });
      await page.goto(url, { waitUntil: "networkidle0" });
      await page.evaluate(() => document.fonts.ready);
      const file = path.join(out, `speed-${name}-${width}-${suffix}.png`);
      await page.screenshot({ path: file });
      await page.close();
      console.log(file);
    }
  }
} finally {
  await browser.close();
}
