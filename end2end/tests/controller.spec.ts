import { expect, Page, test, TestInfo } from "@playwright/test";
import { jsEnabled, login, ready } from "./helpers";

// The seeded site dc1a is simulated (scripts/test.sh): its groups really move, at 8 users/s.
const SIM = process.env.PALOMAR_E2E_SIM_CONTROL ?? "http://127.0.0.1:9790";

async function siteId(page: Page): Promise<string> {
  await page.goto("/controller");
  await page.getByRole("link", { name: "Moves" }).click();
  const match = page.url().match(/\/sites\/([0-9a-f-]+)\/moves/);
  expect(match).not.toBeNull();
  return match ? match[1] : "";
}

/** Starts moving `group` to the other backend; returns the backend it leaves. */
async function startMove(page: Page, testInfo: TestInfo, site: string, group: string): Promise<string> {
  await page.goto(`/sites/${site}/groups/${group}`);
  const source = ((await page.locator("#group-backend").textContent()) ?? "").trim();
  await ready(page, testInfo);
  await page.getByRole("button", { name: "Start move" }).click();
  await expect(page.locator("#group-moving")).toContainText("yes");
  return source;
}

/** Waits until the move card of `group` is in `state`: live with JavaScript, by reloading without. */
async function expectMoveState(page: Page, testInfo: TestInfo, group: string, state: string, timeout: number) {
  const card = page.locator(`#live-moves .move-card[data-group="${group}"]`).first();
  if (jsEnabled(testInfo)) {
    await expect(card).toHaveAttribute("data-state", state, { timeout });
  } else {
    await expect(async () => {
      await page.reload();
      await expect(card).toHaveAttribute("data-state", state, { timeout: 1000 });
    }).toPass({ timeout });
  }
}

test.describe.configure({ mode: "serial" });

test("controller: who leads, and the dry evaluation on demand", async ({ page }, testInfo) => {
  await login(page, testInfo);
  await page.goto("/controller");
  await expect(page.locator("#leader")).toContainText("e2e-controller");
  await expect(page.locator("#instance")).toContainText("leads");
  await expect(page.locator(`#loops tr[data-loop="supervision"]`)).toBeVisible();
  await ready(page, testInfo);
  await page.getByRole("button", { name: "Evaluate now" }).click();
  await expect(page).toHaveURL(/evaluate=1/);
  await expect(page.locator("#evaluation")).toBeVisible();
  // The backends page shows what the controller's doveadm probe found.
  const site = await siteId(page);
  await page.goto(`/sites/${site}/backends`);
  await expect(page.locator(`tr[data-backend="be1.dc1a.example.net"] td.reachability`)).toHaveText("reachable");
});

test("moves: progress streams live to done, and a stalled move is forced", async ({ page, request }, testInfo) => {
  test.setTimeout(180_000);
  await login(page, testInfo);
  const site = await siteId(page);

  // Supervision with forcing on for this site (audited like every feature change).
  await page.goto(`/sites/${site}/features`);
  await ready(page, testInfo);
  await page.getByLabel("State of group_move_timeouts").selectOption("on");
  await page.locator(`tr[data-feature="group_move_timeouts"]`).getByRole("button", { name: "Set" }).click();
  await expect(page.locator(`tr[data-feature="group_move_timeouts"]`)).toHaveAttribute("data-state", "on");

  const [moving, stalled] = jsEnabled(testInfo) ? ["default-3", "default-4"] : ["default-5", "default-6"];
  await startMove(page, testInfo, site, moving);
  await page.goto(`/sites/${site}/moves`);
  await ready(page, testInfo);
  const card = page.locator(`#live-moves .move-card[data-group="${moving}"]`).first();
  if (jsEnabled(testInfo)) {
    // The card appears once the controller adopts the move, without a reload.
    await expect(card).toBeVisible({ timeout: 15_000 });
    // No navigation from here on: the bar advances through the event stream.
    await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
    await expect
      .poll(async () => Number((await card.locator("progress").getAttribute("value")) ?? "0"), { timeout: 30_000 })
      .toBeGreaterThan(0);
    await expect(card).toHaveAttribute("data-state", "finished", { timeout: 60_000 });
    await expect(card.locator("progress")).toHaveAttribute("value", "100");
    expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
  } else {
    await expectMoveState(page, testInfo, moving, "finished", 60_000);
  }

  // A source that never starts the move: the start timeout (6 s here) forces it.
  await page.goto(`/sites/${site}/groups/${stalled}`);
  const source = ((await page.locator("#group-backend").textContent()) ?? "").trim();
  const stall = await request.put(`${SIM}/faults/${source}`, { data: { stall_moves: true } });
  expect(stall.status()).toBe(204);
  try {
    await startMove(page, testInfo, site, stalled);
    await page.goto(`/sites/${site}/moves`);
    await ready(page, testInfo);
    await expectMoveState(page, testInfo, stalled, "forced", 60_000);
    await expect(page.locator(`#live-moves .move-card[data-group="${stalled}"] .note`).first()).toContainText("not started");
  } finally {
    await request.delete(`${SIM}/faults/${source}`);
  }
  await page.goto(`/sites/${site}/decisions`);
  await expect(page.locator(`#decisions tr[data-feature="group_move_timeouts"]`).first()).toBeVisible();
});
