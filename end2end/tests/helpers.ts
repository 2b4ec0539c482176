import { expect, Page, TestInfo } from "@playwright/test";

export const USER = process.env.PALOMAR_E2E_USER ?? "e2e-admin";
export const PASSWORD = process.env.PALOMAR_E2E_PASSWORD ?? "";
/** The controller's origin: hand-made posts must carry it, as browsers do (CSRF check). */
export const ORIGIN = new URL(process.env.PALOMAR_E2E_URL ?? "http://127.0.0.1:3000").origin;
/** Headers of a hand-made server-function call from one of the controller's pages. */
export const API_HEADERS = { Accept: "application/json", Origin: ORIGIN };

export function jsEnabled(testInfo: TestInfo): boolean {
  return testInfo.project.name === "js";
}

/** With JavaScript, clicks before hydration are lost: wait for the marker first. */
export async function ready(page: Page, testInfo: TestInfo) {
  if (jsEnabled(testInfo)) {
    await expect(page.locator("main")).toHaveAttribute("data-hydrated", "true");
  }
}

/** Submits the login form, without checking the outcome. */
export async function submitLogin(page: Page, testInfo: TestInfo, password: string) {
  await page.goto("/login");
  await ready(page, testInfo);
  await page.getByLabel("Username").fill(USER);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

/** Logs in and waits until the layout shows who is logged in. */
export async function login(page: Page, testInfo: TestInfo) {
  await submitLogin(page, testInfo, PASSWORD);
  await expect(page.locator("#who")).toHaveText(USER);
}

/** A name unique to this project's run, valid as a site or tag name. */
export function unique(prefix: string, testInfo: TestInfo): string {
  return `${prefix}-${testInfo.project.name}-${Date.now().toString(36)}`;
}
