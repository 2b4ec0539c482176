import { expect, test } from "@playwright/test";
import { login, ORIGIN, ready, unique } from "./helpers";

// A state-changing request must come from the controller's own origin.

test("a same-origin form post works", async ({ page }, testInfo) => {
  // Logging in is itself a form post (without JavaScript, a plain one with the browser's Origin).
  await login(page, testInfo);
  await page.goto("/tags");
  await ready(page, testInfo);
  const name = unique("csrf-ok", testInfo);
  await page.getByLabel("New tag name").fill(name);
  await page.getByRole("button", { name: "Create tag" }).click();
  await expect(page.locator(`tr[data-tag="${name}"]`)).toBeVisible();
});

test("a cross-origin or origin-less post is refused and changes nothing", async ({ page }, testInfo) => {
  await login(page, testInfo);
  const name = unique("csrf-forged", testInfo);
  // The session cookie goes along (same context), only the origin is wrong or missing.
  for (const headers of [
    { Accept: "application/json", Origin: "https://evil.example" },
    { Accept: "application/json", Referer: "https://evil.example/page" },
    { Accept: "application/json" },
  ]) {
    const response = await page.request.post("/api/tags/create", { form: { tag: name }, headers });
    expect(response.status(), JSON.stringify(headers)).toBe(403);
    expect(await response.text()).toContain("request refused");
  }
  const forgedLogin = await page.request.post("/api/auth/login", {
    form: { username: "nobody", password: "whatever", next: "/" },
    headers: { Accept: "application/json", Origin: "https://evil.example" },
  });
  expect(forgedLogin.status()).toBe(403);
  await page.goto("/tags");
  await expect(page.getByRole("heading", { name: "Tags" })).toBeVisible();
  await expect(page.locator(`tr[data-tag="${name}"]`)).toHaveCount(0);
});

test("a form on another site cannot post to the controller", async ({ page }, testInfo) => {
  await login(page, testInfo);
  const name = unique("csrf-page", testInfo);
  // A page of another origin with a form aimed at the controller, as an attacker would host it.
  await page.route("http://evil.example/**", (route) =>
    route.fulfill({
      contentType: "text/html",
      body: `<form method="post" action="${ORIGIN}/api/tags/create">
               <input name="tag" value="${name}"><button type="submit">Go</button></form>`,
    }),
  );
  await page.goto("http://evil.example/attack");
  await page.getByRole("button", { name: "Go" }).click();
  await expect(page.locator("body")).toContainText("request refused");
  await page.goto(`${ORIGIN}/tags`);
  await expect(page.getByRole("heading", { name: "Tags" })).toBeVisible();
  await expect(page.locator(`tr[data-tag="${name}"]`)).toHaveCount(0);
});
