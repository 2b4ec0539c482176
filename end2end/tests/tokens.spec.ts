import { expect, test } from "@playwright/test";
import { login, ready, unique } from "./helpers";

// An API token is made on the Tokens page, shown once, works for /api/v1 as its
// owner, and stops when revoked. With and without JavaScript.
test("a token made on the Tokens page works for the API once, until it is revoked", async ({ page }, testInfo) => {
  await login(page, testInfo);
  await page.goto("/tokens");
  await ready(page, testInfo);
  const name = unique("pw", testInfo);
  const form = page.locator("#create-token");
  await form.getByLabel("Token name").fill(name);
  await form.getByLabel("Token role").selectOption("viewer");
  await form.getByRole("button", { name: "Create token" }).click();

  const secret = page.locator("#new-token-secret");
  await expect(secret).toHaveText(/^palomar_[0-9a-f]{32}_[0-9a-f]{64}$/);
  const token = (await secret.textContent()) ?? "";
  const row = page.locator("#tokens tr", { hasText: name });
  await expect(row).toHaveAttribute("data-state", "active");

  // The API answers as the token's owner, with a viewer's rights.
  const sites = await page.request.get("/api/v1/sites", { headers: { Authorization: `Bearer ${token}` } });
  expect(sites.status()).toBe(200);
  expect((await sites.json()).map((s: { name: string }) => s.name)).toContain("dc1a");
  const change = await page.request.patch("/api/v1/sites/dc1a/backends/nowhere.example.net", {
    headers: { Authorization: `Bearer ${token}` },
    data: { load_factor: 10 },
  });
  expect(change.status()).toBe(403);
  expect(change.headers()["content-type"]).toBe("application/problem+json");

  // Shown once: a reload does not show it again.
  await page.reload();
  await expect(page.locator("#tokens tr", { hasText: name })).toBeVisible();
  await expect(page.locator("#new-token-secret")).toHaveCount(0);

  await ready(page, testInfo);
  await page.locator("#tokens tr", { hasText: name }).getByRole("button", { name: "Revoke" }).click();
  await expect(page.locator("#tokens tr", { hasText: name })).toHaveAttribute("data-state", "revoked");
  const after = await page.request.get("/api/v1/sites", { headers: { Authorization: `Bearer ${token}` } });
  expect(after.status()).toBe(401);

  // The document and its page need no token.
  const doc = await page.request.get("/api/v1/openapi.json");
  expect((await doc.json()).openapi).toMatch(/^3\.1/);
  await page.goto("/api/v1/docs");
  await expect(page.locator("h1")).toContainText("Palomar cluster controller API");
});
