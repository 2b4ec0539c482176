import { expect, test } from "@playwright/test";
import { jsEnabled, login, ready, unique } from "./helpers";

test.beforeEach(async ({ page }, testInfo) => {
  await login(page, testInfo);
  await expect(page.getByRole("heading", { name: "Cluster overview" })).toBeVisible();
});

test("add a site, edit it, remove it", async ({ page }, testInfo) => {
  const name = unique("site", testInfo);
  const row = page.locator(`tr[data-site="${name}"]`);

  await page.goto("/sites/new");
  await ready(page, testInfo);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Load balancer").fill("lb.e2e.example.net");
  await page.getByLabel("Status").selectOption("standby");
  await page.getByRole("button", { name: "Add site" }).click();
  await expect(page).toHaveURL(/\/sites$/);
  await expect(row).toContainText("lb.e2e.example.net");
  await expect(row).toContainText("standby");

  await row.getByRole("link", { name }).click();
  await expect(page.getByRole("heading", { name: `Dashboard of ${name}` })).toBeVisible();
  await page.locator("nav.site-nav").getByRole("link", { name: "Edit", exact: true }).click();
  await expect(page.getByRole("heading", { name: `Site ${name}` })).toBeVisible();
  await ready(page, testInfo);
  await page.getByLabel("Status").selectOption("online");
  await page.getByLabel("Load balancer").fill("lb2.e2e.example.net");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page).toHaveURL(/\/sites$/);
  await expect(row).toContainText("lb2.e2e.example.net");
  await expect(row).toContainText("online");

  await row.getByRole("link", { name }).click();
  await page.locator("nav.site-nav").getByRole("link", { name: "Edit", exact: true }).click();
  await ready(page, testInfo);
  await page.getByRole("link", { name: "Remove…" }).click();
  await expect(page.getByRole("heading", { name: `Remove site ${name}?` })).toBeVisible();
  await ready(page, testInfo);
  await page.getByLabel(/to confirm/).fill("wrong-name");
  await page.getByRole("button", { name: "Remove site" }).click();
  await expect(page.getByRole("alert")).toContainText(`type the site's name, ${name}, to confirm`);
  await page.getByLabel(/to confirm/).fill(name);
  await page.getByRole("button", { name: "Remove site" }).click();
  await expect(page).toHaveURL(/\/sites$/);
  await expect(page.getByRole("heading", { name: "Sites" })).toBeVisible();
  await expect(row).toHaveCount(0);
});

test("bad input shows inline and writes nothing", async ({ page }, testInfo) => {
  const name = unique("bad site", testInfo);
  await page.goto("/sites/new");
  await ready(page, testInfo);
  await page.getByLabel("Name").fill(name);
  await page.getByRole("button", { name: "Add site" }).click();
  await expect(page.getByRole("alert")).toHaveText("a site name has 1 to 64 letters, digits, '.', '_' or '-'");
  await expect(page).toHaveURL(/\/sites\/new/);
  await page.goto("/sites");
  await expect(page.locator(`tr[data-site="${name}"]`)).toHaveCount(0);
});

test("the sites filter works in the browser once hydrated", async ({ page }, testInfo) => {
  test.skip(!jsEnabled(testInfo), "filtering as you type needs JavaScript");
  const wanted = unique("filter-a", testInfo);
  const other = unique("filter-b", testInfo);
  for (const name of [wanted, other]) {
    await page.goto("/sites/new");
    await ready(page, testInfo);
    await page.getByLabel("Name").fill(name);
    await page.getByRole("button", { name: "Add site" }).click();
    await expect(page.locator(`tr[data-site="${name}"]`)).toBeVisible();
  }
  await ready(page, testInfo);
  await page.getByLabel("Filter sites by name").fill(wanted);
  await expect(page.locator(`tr[data-site="${wanted}"]`)).toBeVisible();
  await expect(page.locator(`tr[data-site="${other}"]`)).toBeHidden();
  await page.getByLabel("Filter sites by name").fill("");
  await expect(page.locator(`tr[data-site="${other}"]`)).toBeVisible();
});
