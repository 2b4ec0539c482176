import { expect, test } from "@playwright/test";
import { login, ready, unique } from "./helpers";

test("create, rename and remove a tag", async ({ page }, testInfo) => {
  await login(page, testInfo);
  await expect(page.getByRole("heading", { name: "Cluster overview" })).toBeVisible();
  await page.getByRole("link", { name: "Tags" }).click();
  await expect(page.getByRole("heading", { name: "Tags" })).toBeVisible();
  await ready(page, testInfo);

  const name = unique("tag", testInfo);
  await page.getByLabel("New tag name").fill(name);
  await page.getByRole("button", { name: "Create tag" }).click();
  const row = page.locator(`tr[data-tag="${name}"]`);
  await expect(row).toBeVisible();

  const renamed = `${name}-renamed`;
  await ready(page, testInfo);
  await row.getByLabel(`Name of tag ${name}`).fill(renamed);
  await row.getByRole("button", { name: "Rename" }).click();
  const renamedRow = page.locator(`tr[data-tag="${renamed}"]`);
  await expect(renamedRow).toBeVisible();
  await expect(row).toHaveCount(0);

  await ready(page, testInfo);
  await renamedRow.getByRole("button", { name: "Remove" }).click();
  await expect(renamedRow).toHaveCount(0);
});

test("a tag name with a space is refused inline", async ({ page }, testInfo) => {
  await login(page, testInfo);
  await page.goto("/tags");
  await ready(page, testInfo);
  await page.getByLabel("New tag name").fill("two words");
  await page.getByRole("button", { name: "Create tag" }).click();
  await expect(page.getByRole("alert")).toHaveText("a tag name has 1 to 64 letters, digits, '.', '_' or '-'");
});
