import { expect, test } from "@playwright/test";

const USER = "demo";
const PASSWORD = process.env.PALOMAR_DEMO_PASSWORD ?? "";

test("the demo's dashboard charts the simulated traffic", async ({ page }, testInfo) => {
  await page.goto("/login");
  if (testInfo.project.name === "js") {
    await expect(page.locator("main")).toHaveAttribute("data-hydrated", "true");
  }
  await page.getByLabel("Username").fill(USER);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Cluster overview" })).toBeVisible();
  await expect(page.locator("#overview .site-card")).toHaveCount(2);
  await page.locator('#overview .site-card[data-site="dc1a"] h2 a').click();
  await expect(page.getByRole("heading", { name: "Dashboard of dc1a" })).toBeVisible();
  await expect(page.locator("#dashboard-backends tbody tr")).toHaveCount(3);
  // The simulator's proxies log users in all the time: the logins chart has points.
  for (const chart of ["logins", "failure-ratio", "zscore"]) {
    await expect(async () => {
      await page.reload();
      const points = Number(await page.locator(`#chart-${chart}`).getAttribute("data-points"));
      expect(points, chart).toBeGreaterThan(0);
    }).toPass({ timeout: 90_000 });
    await expect(page.locator(`#chart-${chart} svg`)).toBeVisible();
    await expect(page.locator(`#chart-${chart} svg`)).toContainText("be1.dc1a.example.net");
  }
});
