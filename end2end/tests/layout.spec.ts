import { expect, Page, test } from "@playwright/test";
import { API_HEADERS, login } from "./helpers";

// No page scrolls sideways in a 1280-pixel window; wide tables scroll in their own box.
test.use({ viewport: { width: 1280, height: 800 } });

async function seededSite(page: Page): Promise<string> {
  const response = await page.request.post("/api/sites/list", { headers: API_HEADERS, form: {} });
  expect(response.ok()).toBeTruthy();
  const sites = await response.json();
  const row = sites.items.find((r: { site: { name: string } }) => r.site.name === "dc1a");
  expect(row).toBeTruthy();
  return row.site.id;
}

test("no page is wider than a 1280-pixel window", async ({ page }, testInfo) => {
  await login(page, testInfo);
  const site = await seededSite(page);
  const pages = [
    "/",
    "/sites",
    "/sites/new",
    `/sites/${site}`,
    `/sites/${site}/edit`,
    `/sites/${site}/remove`,
    `/sites/${site}/backends`,
    `/sites/${site}/groups`,
    `/sites/${site}/groups/default-1`,
    `/sites/${site}/moves`,
    `/sites/${site}/decisions`,
    `/sites/${site}/features`,
    `/sites/${site}/stats`,
    "/controller",
    "/controller?evaluate=1",
    "/tags",
    "/users",
    "/users?username=user0000001%40example.net",
    "/settings",
    "/reachability",
    "/operators",
    "/tokens",
    "/audit",
    "/login",
  ];
  const wide: string[] = [];
  for (const path of pages) {
    await page.goto(path);
    await expect(page.locator("h1").first()).toBeVisible();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    if (width > 1280) wide.push(`${path}: ${width} px`);
  }
  expect(wide, "pages that scroll sideways").toEqual([]);
});
