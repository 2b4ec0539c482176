// The README's screenshots, taken from a running demo (scripts/demo.sh):
//   PALOMAR_DEMO_URL=http://127.0.0.1:8000 PALOMAR_DEMO_PASSWORD=… node end2end/screenshots.mjs
// Writes docs/screenshot-overview.png, docs/screenshot-dashboard.png and docs/screenshot-charts.png.
import { chromium } from "@playwright/test";
import { fileURLToPath } from "node:url";
import path from "node:path";

const base = process.env.PALOMAR_DEMO_URL ?? "http://127.0.0.1:8000";
const docs = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "docs");
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${base}/login`);
  await page.getByLabel("Username").fill("demo");
  await page.getByLabel("Password").fill(process.env.PALOMAR_DEMO_PASSWORD ?? "");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Cluster overview" }).waitFor();
  await page.screenshot({ path: path.join(docs, "screenshot-overview.png") });
  await page.locator('#overview .site-card[data-site="dc1a"] h2 a').click();
  await page.locator("#chart-logins svg").waitFor({ timeout: 120_000 });
  await page.screenshot({ path: path.join(docs, "screenshot-dashboard.png") });
  await page.locator(".charts").screenshot({ path: path.join(docs, "screenshot-charts.png") });
} finally {
  await browser.close();
}
