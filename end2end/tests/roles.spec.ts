import { expect, test } from "@playwright/test";
import { API_HEADERS, jsEnabled, login, ready, unique } from "./helpers";

const VIEWER_PASSWORD = "viewer password 123";

test("admins manage operators; a viewer gets no controls and forged posts are refused; all is audited", async ({ page, browser }, testInfo) => {
  const viewer = unique("viewer", testInfo);
  await login(page, testInfo);
  await page.getByRole("link", { name: "Operators" }).click();
  await expect(page.getByRole("heading", { name: "Operators" })).toBeVisible();
  await ready(page, testInfo);
  await page.getByLabel("New operator's username").fill(viewer);
  await page.getByLabel("New operator's role").selectOption("viewer");
  await page.getByLabel("New operator's password").fill(VIEWER_PASSWORD);
  await page.getByRole("button", { name: "Add operator" }).click();
  const row = page.locator(`tr[data-operator="${viewer}"]`);
  await expect(row).toBeVisible();

  // The viewer, in a browser of its own.
  const context = await browser.newContext({ javaScriptEnabled: jsEnabled(testInfo) });
  const viewerPage = await context.newPage();
  await viewerPage.goto("/login");
  await ready(viewerPage, testInfo);
  await viewerPage.getByLabel("Username").fill(viewer);
  await viewerPage.getByLabel("Password").fill(VIEWER_PASSWORD);
  await viewerPage.getByRole("button", { name: "Log in" }).click();
  await expect(viewerPage.locator("#who")).toHaveText(viewer);
  await expect(viewerPage.getByRole("heading", { name: "Cluster overview" })).toBeVisible();
  await expect(viewerPage.getByRole("link", { name: "Add site" })).toHaveCount(0);
  await expect(viewerPage.getByRole("link", { name: "Operators" })).toHaveCount(0);
  await expect(viewerPage.getByRole("link", { name: "Audit log" })).toHaveCount(0);
  await viewerPage.goto("/tags");
  await expect(viewerPage.getByRole("heading", { name: "Tags" })).toBeVisible();
  await expect(viewerPage.getByRole("button", { name: "Create tag" })).toHaveCount(0);
  await expect(viewerPage.getByRole("button", { name: "Remove" })).toHaveCount(0);
  await viewerPage.goto("/sites/new");
  await expect(viewerPage.getByRole("alert")).toContainText("may not do this");
  for (const [path, form] of [
    ["/api/tags/create", { tag: "forged" }],
    ["/api/sites/add", { name: "forged", tag: "", load_balancer: "", status: "online" }],
    ["/api/operators/add", { username: "forged", role: "admin", password: "long enough password" }],
  ] as const) {
    const response = await viewerPage.request.post(path, { form, headers: API_HEADERS });
    expect(response.status(), path).toBe(403);
  }

  // Disabling the viewer ends its access at its next request.
  await ready(page, testInfo);
  await row.getByRole("button", { name: "Disable" }).click();
  await expect(page.locator(`tr[data-operator="${viewer}"][data-disabled="true"]`)).toBeVisible();
  const refused = await viewerPage.request.post("/api/tags/list", { form: {}, headers: API_HEADERS });
  expect(refused.status()).toBe(401);
  await context.close();

  // The audit log shows what the admin did.
  await page.goto(`/audit?action=operator.`);
  await expect(page.locator(`#audit tr[data-action="operator.add"]`, { hasText: viewer })).toBeVisible();
  await expect(page.locator(`#audit tr[data-action="operator.disable"]`, { hasText: viewer })).toBeVisible();
});

test("site and tag changes appear in the audit log", async ({ page }, testInfo) => {
  const tag = unique("audited", testInfo);
  await login(page, testInfo);
  await page.goto("/tags");
  await ready(page, testInfo);
  await page.getByLabel("New tag name").fill(tag);
  await page.getByRole("button", { name: "Create tag" }).click();
  await expect(page.locator(`tr[data-tag="${tag}"]`)).toBeVisible();
  await page.goto("/audit");
  await expect(page.getByRole("heading", { name: "Audit log" })).toBeVisible();
  const record = page.locator(`#audit tr[data-action="tag.create"]`, { hasText: tag });
  await expect(record).toBeVisible();
  await expect(record).toContainText(process.env.PALOMAR_E2E_USER ?? "e2e-admin");
});
