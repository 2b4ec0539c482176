import { expect, Page, test, TestInfo } from "@playwright/test";
import { login, ready, unique } from "./helpers";

test.beforeEach(async ({ page }, testInfo) => {
  await login(page, testInfo);
});

/** Opens dc1a's force-move page through the site navigation. */
async function openForceMove(page: Page, testInfo: TestInfo) {
  await page.goto("/");
  await page.locator('#overview .site-card[data-site="dc1a"] h2 a').click();
  await page.locator("nav.site-nav").getByRole("link", { name: "Force-move", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Force-move and recover: dc1a" })).toBeVisible();
  await ready(page, testInfo);
}

test("start, change and stop a site force-move and a recover; bad input shows inline", async ({ page }, testInfo) => {
  // A destination in standby: the force-move runs, yet nobody moves, so the other tests' users stay.
  const destination = unique("fm-dest", testInfo);
  await page.goto("/sites/new");
  await ready(page, testInfo);
  await page.getByLabel("Name").fill(destination);
  await page.getByLabel("Status").selectOption("standby");
  await page.getByRole("button", { name: "Add site" }).click();
  await expect(page).toHaveURL(/\/sites$/);

  await openForceMove(page, testInfo);
  const start = page.locator("#start-site-force-move");
  await start.getByLabel("Percent", { exact: true }).fill("30");
  await start.getByLabel("To sites").fill("nowhere-site");
  await start.getByRole("button", { name: "Start force-move" }).click();
  await expect(page.getByRole("alert")).toContainText('no site "nowhere-site"');

  await openForceMove(page, testInfo);
  await start.getByLabel("Percent", { exact: true }).fill("30");
  await start.getByLabel("To sites").fill(destination);
  await start.getByLabel("Id", { exact: true }).fill("e2e-maintenance");
  await start.getByRole("button", { name: "Start force-move" }).click();
  const row = page.locator('#force-moves tr[data-kind="force_move"][data-source="dc1a"]');
  await expect(row).toContainText("30 %");
  await expect(row).toContainText(destination);
  await expect(row).toContainText("e2e-maintenance");

  // The site's dashboard says a force-move runs.
  await page.locator("nav.site-nav").getByRole("link", { name: "Dashboard", exact: true }).click();
  await expect(page.locator('li.alert[data-alert="force-move-running"]')).toContainText("force-move of dc1a running");

  await openForceMove(page, testInfo);
  await row.getByLabel("Percent of the site force-move").fill("60");
  await ready(page, testInfo);
  await row.getByRole("button", { name: "Change" }).click();
  await expect(row).toContainText("60 %");

  // A recover would undo the running force-move: refused, with the reason.
  const recover = page.locator("#start-recover");
  await recover.getByLabel("Percent", { exact: true }).fill("100");
  await recover.getByRole("button", { name: "Start recover" }).click();
  await expect(page.getByRole("alert")).toContainText("a force-move is running on site dc1a: stop it first");

  await openForceMove(page, testInfo);
  await row.getByRole("button", { name: "Stop" }).click();
  await expect(page.locator("#no-force-moves")).toBeVisible();

  await ready(page, testInfo);
  await recover.getByLabel("Percent", { exact: true }).fill("50");
  await recover.getByRole("button", { name: "Start recover" }).click();
  const recovering = page.locator('#force-moves tr[data-kind="recover"][data-source="dc1a"]');
  await expect(recovering).toContainText("50 %");
  await ready(page, testInfo);
  await recovering.getByRole("button", { name: "Stop" }).click();
  await expect(page.locator("#no-force-moves")).toBeVisible();
});

test("start and stop a backend force-move", async ({ page }, testInfo) => {
  await openForceMove(page, testInfo);
  const start = page.locator("#start-backend-force-move");
  await start.getByLabel("Backend to empty").selectOption("be1.dc1a.example.net");
  // Nobody is chosen at 0 %: the other tests' users stay where they are.
  await start.getByLabel("Percent", { exact: true }).fill("0");
  await start.getByLabel("To backends").fill("be2.dc1a.example.net");
  await start.getByRole("button", { name: "Start backend force-move" }).click();
  const row = page.locator('#force-moves tr[data-kind="force_move"][data-source="be1.dc1a.example.net"]');
  await expect(row).toContainText("be2.dc1a.example.net");
  await expect(row).toContainText("0 %");
  await ready(page, testInfo);
  await row.getByRole("button", { name: "Stop" }).click();
  await expect(page.locator("#no-force-moves")).toBeVisible();
});
