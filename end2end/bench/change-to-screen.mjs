// Change to screen: how long from an operator starting a group move (the POST) to the move
// showing in a real browser that has the site's Moves page open (live stream, no reload).
// Used by scripts/bench.sh; prints one JSON line with every trial's milliseconds.
//
// Environment: BENCH_URL (the server), BENCH_USER / BENCH_PASSWORD (an operator),
// BENCH_SITE (a site id), BENCH_GROUPS (comma-separated groups to move, one per trial, not
// moving), CHROMIUM_PATH (default /usr/bin/chromium).
import { chromium } from "@playwright/test";

const base = process.env.BENCH_URL;
const site = process.env.BENCH_SITE;
const groups = (process.env.BENCH_GROUPS ?? "").split(",").filter(Boolean);
if (!base || !site || groups.length === 0) {
  console.error("change-to-screen: set BENCH_URL, BENCH_SITE and BENCH_GROUPS");
  process.exit(2);
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" });
try {
  const context = await browser.newContext({ baseURL: base });
  const page = await context.newPage();
  // The login form posts like any browser's: the session cookie lands in the context.
  const login = await context.request.post("/api/auth/login", {
    form: { username: process.env.BENCH_USER, password: process.env.BENCH_PASSWORD, next: "/" },
    headers: { Origin: base, Accept: "application/json" },
  });
  if (!login.ok()) throw new Error(`login answered HTTP ${login.status()}`);

  // Server functions answer JSON to a JSON Accept; POSTs carry the Origin, as a browser's do.
  // A successful move redirects to the group's page: not followed.
  const call = async (path, form) => {
    const r = await context.request.post(path, {
      form,
      headers: { Origin: base, Accept: "application/json" },
      maxRedirects: 0,
    });
    if (r.status() >= 400) throw new Error(`${path} answered HTTP ${r.status()}: ${(await r.text()).slice(0, 200)}`);
    return r.status() === 200 ? r.json().catch(() => null) : null;
  };

  await page.goto(`/sites/${site}/moves`);
  // Hydrated: the live list is driven by the stream from here on (its first event comes at
  // once; a second lets it connect).
  await page.locator("main[data-hydrated=true]").waitFor({ timeout: 60_000 });
  await page.waitForTimeout(1000);
  // Each card's first appearance, stamped in the page by wall clock (same machine as ours).
  await page.evaluate(() => {
    window.__seen = {};
    const stamp = () => {
      for (const card of document.querySelectorAll("#live-moves .move-card")) {
        const g = card.getAttribute("data-group");
        if (g && !(g in window.__seen)) window.__seen[g] = performance.timeOrigin + performance.now();
      }
    };
    stamp();
    new MutationObserver(stamp).observe(document.body, { subtree: true, childList: true });
  });

  const samples = [];
  for (const group of groups) {
    const detail = await call("/api/groups/get", { site_id: site, name: group });
    const destination = detail.destinations?.[0]?.[0];
    if (!destination) throw new Error(`group ${group} has no destination`);
    const started = Date.now();
    await call("/api/groups/move", { site_id: site, name: group, destination });
    const handle = await page.waitForFunction((g) => window.__seen[g], group, { timeout: 10_000 });
    const seen = await handle.jsonValue();
    samples.push(Math.max(0, seen - started));
  }
  console.log(JSON.stringify({ change_to_screen_ms: samples }));
} finally {
  await browser.close();
}
