import { expect, test } from "@playwright/test";
import { login, ready, submitLogin, USER } from "./helpers";

test("an unauthenticated visit goes to the login page", async ({ page }) => {
  await page.goto("/tags");
  await expect(page).toHaveURL(/\/login\?next=%2Ftags$/);
  await expect(page.getByRole("button", { name: "Log in" })).toBeVisible();
});

test("a wrong password is refused", async ({ page }, testInfo) => {
  await submitLogin(page, testInfo, "not the password");
  await expect(page.getByRole("alert")).toHaveText("wrong username or password");
  await page.goto("/sites");
  await expect(page).toHaveURL(/\/login/);
});

test("login, then logout", async ({ page }, testInfo) => {
  await login(page, testInfo);
  await expect(page.locator("#who")).toHaveText(USER);
  await expect(page.getByRole("heading", { name: "Cluster overview" })).toBeVisible();
  await ready(page, testInfo);
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto("/sites");
  await expect(page).toHaveURL(/\/login\?next=%2Fsites$/);
});

test("login returns to the page asked for", async ({ page }, testInfo) => {
  await page.goto("/tags");
  await ready(page, testInfo);
  await page.getByLabel("Username").fill(USER);
  await page.getByLabel("Password").fill(process.env.PALOMAR_E2E_PASSWORD ?? "");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/tags$/);
  await expect(page.getByRole("heading", { name: "Tags" })).toBeVisible();
});
