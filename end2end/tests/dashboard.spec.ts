import { expect, test } from "@playwright/test";
import { login, ready } from "./helpers";

test("the overview shows every site and links its dashboard, moves and decisions", async ({ page }, testInfo) => {
  await login(page, testInfo);
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Cluster overview" })).toBeVisible();
  const card = page.locator('#overview .site-card[data-site="dc1a"]');
  await expect(card).toContainText(" of 2");
  // Where the site's users fail over to, and which sites' proxies reach it.
  await expect(card.locator("dd.failover")).not.toBeEmpty();
  await expect(card.locator("dd.reached-from")).not.toBeEmpty();
  // The reachability matrix: a row and a column per site.
  await expect(page.locator("#reachability thead th", { hasText: "dc1a" })).toBeVisible();
  await expect(card.getByRole("link", { name: "Moves" })).toHaveAttribute("href", /\/sites\/[0-9a-f-]+\/moves$/);
  await expect(card.getByRole("link", { name: "Decisions" })).toHaveAttribute("href", /\/decisions$/);
  await card.getByRole("link", { name: "Dashboard" }).click();
  await expect(page.getByRole("heading", { name: "Dashboard of dc1a" })).toBeVisible();
});

test("a site's dashboard: backends with their health, leader, alerts and charts", async ({ page }, testInfo) => {
  await login(page, testInfo);
  await page.goto("/");
  await page.locator('#overview .site-card[data-site="dc1a"] h2 a').click();
  await ready(page, testInfo);
  const backends = page.locator("#dashboard-backends tbody tr");
  await expect(backends).toHaveCount(2);
  await expect(page.locator('#dashboard-backends tr[data-backend="be1.dc1a.example.net"]')).toBeVisible();
  await expect(page.locator("#dashboard-leader")).toHaveText("e2e-controller");
  // The e2e server has no Prometheus: the dashboard says so rather than showing nothing.
  await expect(page.locator('li.alert[data-alert="no-metrics"]')).toBeVisible();
  for (const chart of ["failure-ratio", "logins", "zscore", "users", "moves"]) {
    await expect(page.locator(`#chart-${chart}`)).toBeVisible();
  }
  // The census runs every 10 s here and keeps its history: the users chart gets points.
  await expect(async () => {
    await page.reload();
    const points = Number(await page.locator("#chart-users").getAttribute("data-points"));
    expect(points).toBeGreaterThan(0);
  }).toPass({ timeout: 30_000 });
  await expect(page.locator("#chart-users svg")).toBeVisible();
  // Every site page links the others.
  const nav = page.locator("nav.site-nav");
  for (const name of ["Dashboard", "Backends", "Groups", "Moves", "Decisions", "Features", "Proxies", "Edit"]) {
    await expect(nav.getByRole("link", { name, exact: true })).toBeVisible();
  }
  await expect(nav.getByRole("link", { name: "Dashboard", exact: true })).toHaveAttribute("aria-current", "page");
});

test("times read as words with the full UTC time in a tooltip", async ({ page }, testInfo) => {
  await login(page, testInfo);
  await page.goto("/controller");
  const time = page.locator("#loops time").first();
  await expect(time).toHaveText(/ago|just now/);
  await expect(time).toHaveAttribute("title", /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
});

test("the features page shows the stored state and the effective mode with its reason", async ({ page }, testInfo) => {
  await login(page, testInfo);
  await page.goto("/");
  await page.locator('#overview .site-card[data-site="dc1a"] h2 a').click();
  await page.locator("nav.site-nav").getByRole("link", { name: "Features", exact: true }).click();
  const row = page.locator('#features tr[data-feature="group_balance"]');
  await expect(row.locator("td.effective")).toBeVisible();
  const stored = await row.getAttribute("data-state");
  const effective = await row.getAttribute("data-effective");
  if (stored !== effective) {
    await expect(row.locator("td.reason")).toContainText(/DRY_RUN|GROUP_BALANCE_ENABLED/);
  }
  // Each feature says what it does; site health names the table it writes.
  await expect(page.locator('#features tr[data-feature="site_health"] td.describe')).toContainText("site_reachability");
});
