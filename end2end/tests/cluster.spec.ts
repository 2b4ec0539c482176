import { expect, Page, TestInfo, test } from "@playwright/test";
import { API_HEADERS, jsEnabled, login, ready, unique } from "./helpers";

/** Creates a site through the UI and returns its id. */
async function newSite(page: Page, testInfo: TestInfo): Promise<{ id: string; name: string }> {
  const name = unique("cl", testInfo);
  await page.goto("/sites/new");
  await ready(page, testInfo);
  await page.getByLabel("Name").fill(name);
  await page.getByRole("button", { name: "Add site" }).click();
  const link = page.locator(`tr[data-site="${name}"] a`);
  await expect(link).toBeVisible();
  const href = (await link.getAttribute("href")) ?? "";
  return { id: href.split("/").pop() ?? "", name };
}

async function addBackend(page: Page, testInfo: TestInfo, host: string) {
  await ready(page, testInfo);
  await page.getByLabel("New backend host").fill(host);
  await page.getByRole("button", { name: "Add backend" }).click();
  await expect(page.locator(`tr[data-backend="${host}"]`)).toBeVisible();
}

test("backends: add, status, load factor, evacuate, removal guard; groups: init, filter, move, sticky; features", async ({ page }, testInfo) => {
  await login(page, testInfo);
  const site = await newSite(page, testInfo);
  const be1 = `be1.${site.name}.example.net`;
  const be2 = `be2.${site.name}.example.net`;

  await page.goto(`/sites/${site.id}/backends`);
  await expect(page.getByRole("heading", { name: `Backends of ${site.name}` })).toBeVisible();
  await addBackend(page, testInfo, be1);
  await expect(page.locator(`tr[data-backend="${be1}"]`)).toHaveAttribute("data-status", "standby");
  await addBackend(page, testInfo, be2);

  // An IP literal is refused, like doveadm cluster backend add.
  await ready(page, testInfo);
  await page.getByLabel("New backend host").fill("10.0.0.9");
  await page.getByRole("button", { name: "Add backend" }).click();
  await expect(page.getByRole("alert")).toHaveText("a Dovecot Pro backend's host is a DNS name, not an IP address");

  for (const host of [be1, be2]) {
    await ready(page, testInfo);
    const row = page.locator(`tr[data-backend="${host}"]`);
    await row.getByLabel(`Status of ${host}`).selectOption("online");
    await row.getByRole("button", { name: "Set" }).first().click();
    await expect(page.locator(`tr[data-backend="${host}"]`)).toHaveAttribute("data-status", "online");
  }
  // The browser refuses 150 (min/max on the field); a hand-made request is refused by the server.
  const backendId = await page.locator(`tr[data-backend="${be2}"] input[name="id"]`).first().getAttribute("value");
  const refused = await page.request.post("/api/backends/set_load_factor", {
    form: { site_id: site.id, id: backendId ?? "", load_factor: "150" },
    headers: API_HEADERS,
  });
  expect(refused.status()).toBe(422);
  expect(await refused.text()).toContain("from 0 to 100");
  await ready(page, testInfo);
  await page.locator(`tr[data-backend="${be2}"]`).getByLabel(`Load factor of ${be2}`).fill("50");
  await page.locator(`tr[data-backend="${be2}"]`).getByRole("button", { name: "Set" }).nth(1).click();
  await expect(page.locator(`tr[data-backend="${be2}"]`).getByLabel(`Load factor of ${be2}`)).toHaveValue("50");

  // Groups: create the defaults, filter, open one, move it, set its flags.
  await page.goto(`/sites/${site.id}/groups`);
  await ready(page, testInfo);
  await page.getByLabel("Number of default groups").fill("12");
  await page.getByRole("button", { name: "Create missing default-1..N" }).click();
  await expect(page.locator(`#groups tr[data-group="default-12"]`)).toBeVisible();
  await page.getByLabel("Name mask").fill("default-1?");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.locator(`#groups tr[data-group="default-11"]`)).toBeVisible();
  await expect(page.locator(`#groups tr[data-group="default-2"]`)).toHaveCount(0);

  await page.goto(`/sites/${site.id}/groups/default-1`);
  await expect(page.locator("#group-backend")).toHaveText(/^be[12]\./);
  const owner = (await page.locator("#group-backend").textContent()) ?? "";
  const destination = owner === be1 ? be2 : be1;
  await expect(page.locator("#group-moving")).toHaveText("no");
  await ready(page, testInfo);
  await page.getByLabel("Destination backend").selectOption({ label: destination });
  await page.getByRole("button", { name: "Start move" }).click();
  await expect(page.locator("#group-moving")).toContainText("yes");
  await expect(page.getByRole("button", { name: "Start move" })).toBeVisible();
  await ready(page, testInfo);
  await page.getByRole("button", { name: "Start move" }).click();
  await expect(page.getByRole("alert")).toContainText("already moving");
  await page.goto(`/sites/${site.id}/groups/default-2`);
  await ready(page, testInfo);
  await page.getByLabel(/group stays on its backend/).check();
  // With JavaScript the form posts in place; without, the post navigates and the page loads anew.
  await Promise.all([
    jsEnabled(testInfo)
      ? page.waitForResponse((r) => r.url().includes("/api/groups/set_sticky"))
      : page.waitForEvent("load"),
    page.getByRole("button", { name: "Save flags" }).click(),
  ]);
  await page.reload();
  await expect(page.getByLabel(/group stays on its backend/)).toBeChecked();

  // A backend that serves groups is not removed without force; evacuation drains it.
  await page.goto(`/sites/${site.id}/backends`);
  await ready(page, testInfo);
  await page.locator(`tr[data-backend="${be1}"]`).getByRole("button", { name: "Remove" }).click();
  await expect(page.getByRole("alert")).toContainText("still serves");
  await ready(page, testInfo);
  await page.locator(`tr[data-backend="${be1}"]`).getByRole("button", { name: "Evacuate" }).click();
  await expect(page.locator(`tr[data-backend="${be1}"]`)).toHaveAttribute("data-status", "standby");
  await expect(page.locator(`tr[data-backend="${be1}"]`).getByLabel(`Load factor of ${be1}`)).toHaveValue("0");

  // Feature states, per site.
  await page.goto(`/sites/${site.id}/features`);
  await expect(page.locator(`tr[data-feature="load_balance"]`)).toHaveAttribute("data-state", "off");
  await ready(page, testInfo);
  await page.getByLabel("State of load_balance").selectOption("dryrun");
  await page.locator(`tr[data-feature="load_balance"]`).getByRole("button", { name: "Set" }).click();
  await expect(page.locator(`tr[data-feature="load_balance"]`)).toHaveAttribute("data-state", "dryrun");
  await page.goto(`/settings?section=controller_features`);
  await expect(page.locator(`#settings tr[data-setting="load_balance"]`, { hasText: site.id })).toBeVisible();

  // Any cluster_settings row: write one for this site, then delete it.
  const section = `e2e-${testInfo.project.name}`;
  await page.goto(`/settings?section=${section}`);
  await ready(page, testInfo);
  await page.getByLabel("Site id (empty: all)").fill(site.id);
  await page.getByLabel("Name").fill("greeting");
  await page.getByLabel("Value").fill("hello");
  await page.getByRole("button", { name: "Save setting" }).click();
  const setting = page.locator(`#settings tr[data-setting="greeting"]`);
  await expect(setting).toContainText("hello");
  await ready(page, testInfo);
  await setting.getByRole("button", { name: "Delete" }).click();
  await expect(page.locator(`#settings tr[data-setting="greeting"]`)).toHaveCount(0);

  // The stats and reachability pages answer.
  await page.goto(`/sites/${site.id}/stats`);
  await expect(page.getByRole("heading", { name: "proxy_dest_stats" })).toBeVisible();
  await page.goto(`/reachability`);
  await expect(page.getByRole("heading", { name: "Site reachability" })).toBeVisible();

  // And all of it is in the audit log.
  await page.goto(`/audit?action=backend.`);
  await expect(page.locator(`#audit tr[data-action="backend.add"]`, { hasText: be1 })).toBeVisible();
  await expect(page.locator(`#audit tr[data-action="backend.evacuate"]`, { hasText: be1 })).toBeVisible();
  await page.goto(`/audit?action=group.`);
  await expect(page.locator(`#audit tr[data-action="group.move"]`, { hasText: destination })).toBeVisible();
});

test("users: look up the route, move to a group, list a group's users", async ({ page }, testInfo) => {
  // One seeded user per project, since the move below changes it.
  const user = testInfo.project.name === "js" ? "user0000001@example.net" : "user0000002@example.net";
  await login(page, testInfo);
  await page.goto(`/users?username=${encodeURIComponent(user)}`);
  await expect(page.locator("#user-route")).toContainText("→ default-");
  await expect(page.locator("#user-pending")).toHaveText("none");
  await ready(page, testInfo);
  await page.getByLabel("Target group").fill("no-such-group");
  await page.getByRole("button", { name: "Move user" }).click();
  await expect(page.getByRole("alert")).toContainText("there is no group no-such-group");
  await ready(page, testInfo);
  await page.getByLabel("Target group").fill("default-3");
  await page.getByRole("button", { name: "Move user" }).click();
  await expect(page.locator("#user-pending")).toContainText("to default-3");

  await page.goto(`/users?username=nobody-here%40example.net`);
  await expect(page.getByRole("alert")).toHaveText("user nobody-here@example.net was not found");

  // The group page lists users as the census found them.
  await page.goto(`/users?username=${encodeURIComponent(user)}`);
  const route = (await page.locator("#user-route").textContent()) ?? "";
  const [siteName, groupName] = route.split(" → ");
  const sites = await (await page.request.post("/api/sites/list", { form: {}, headers: API_HEADERS })).json();
  const siteId = sites.items.find((row: { site: { name: string } }) => row.site.name === siteName).site.id;
  await expect(async () => {
    await page.goto(`/sites/${siteId}/groups/${groupName}`);
    await expect(page.locator("#group-members")).toContainText(user, { timeout: 1000 });
  }).toPass({ timeout: 30_000 });
  await page.goto(`/users?username=${encodeURIComponent(user)}`);

  // Admins delete a user's row; the next lookup finds nothing.
  await ready(page, testInfo);
  await page.getByRole("button", { name: "Delete user row" }).click();
  await expect(page).toHaveURL(/\/users$/); // the delete went through and sent us back
  await page.goto(`/users?username=${encodeURIComponent(user)}`);
  await expect(page.getByRole("alert")).toHaveText(`user ${user} was not found`);
});
