import { expect, Page, test, TestInfo } from "@playwright/test";
import { ready } from "../tests/helpers";

// On the demo: its simulator keeps the metric history a replay reads, as Prometheus does for a
// real cluster.
const USER = "demo";
const PASSWORD = process.env.PALOMAR_DEMO_PASSWORD ?? "";

test.beforeEach(async ({ page }, testInfo) => {
  await page.goto("/login");
  await ready(page, testInfo);
  await page.getByLabel("Username").fill(USER);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Cluster overview" })).toBeVisible();
});

/** Opens dc1a's replay page through the site navigation. */
async function openReplay(page: Page, testInfo: TestInfo) {
  await page.goto("/");
  await page.locator('#overview .site-card[data-site="dc1a"] h2 a').click();
  await page.locator("nav.site-nav").getByRole("link", { name: "Replay", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Replay: dc1a" })).toBeVisible();
  await ready(page, testInfo);
}

/** Asks for the last ten minutes with `settings`, and waits for the replay to end. */
async function replay(page: Page, testInfo: TestInfo, settings?: (text: string) => string) {
  const form = page.locator("#start-replay");
  const to = await form.getByLabel("To (UTC)").inputValue();
  const from = new Date(Date.parse(`${to}:00Z`) - 10 * 60_000).toISOString().slice(0, 16);
  await form.getByLabel("From (UTC)").fill(from);
  if (settings) {
    const box = form.getByLabel("Settings");
    await box.fill(settings(await box.inputValue()));
  }
  await form.getByRole("button", { name: "Replay" }).click();
  await expect(page).toHaveURL(/\/sites\/[0-9a-f-]+\/replay\?run=[0-9a-f-]+$/);
  // Without JavaScript the page reloads itself while the replay runs; with it, it follows it.
  await expect(page.locator("#replay")).not.toHaveAttribute("data-status", "running", { timeout: 90_000 });
  await expect(page.locator("#replay")).toHaveAttribute("data-status", "done");
  await ready(page, testInfo);
}

test("replay the last minutes as they were, then with a setting changed", async ({ page }, testInfo) => {
  await openReplay(page, testInfo);
  const form = page.locator("#start-replay");
  // The form starts from the settings in force and each feature's state.
  await expect(form.getByLabel("Settings")).toHaveValue(/^host_failure=(on|dryrun|off)$/m);
  await expect(form.getByLabel("Settings")).toHaveValue(/^HOST_FAILURE_RATIO=0\.\d+$/m);

  await replay(page, testInfo);
  await expect(page.getByRole("heading", { name: "Fidelity check" })).toBeVisible();
  await expect(page.locator("#replay-set")).toHaveText("the settings in force");
  await expect(page.locator("#replay-agreement")).toContainText("% of the acting decisions agree");
  await expect(page.locator("#replay-summary")).toContainText("Peak Z-score spread");
  await expect(page.locator("#replay-chart-spread svg")).toBeVisible();
  await expect(page.locator("#replay-chart-failure-ratio svg")).toBeVisible();
  await expect(page.locator("#timeline-recorded h3")).toHaveText("Recorded");
  await expect(page.locator("#timeline-replayed h3")).toHaveText("Replayed");

  // The replay keeps its address: opened again, it shows the same result.
  const address = page.url();
  await page.goto(address);
  await expect(page.locator("#replay")).toHaveAttribute("data-status", "done");

  await replay(page, testInfo, (text) => text.replace(/^HOST_FAILURE_RATIO=.*$/m, "HOST_FAILURE_RATIO=0.5"));
  await expect(page.getByRole("heading", { name: "What if" })).toBeVisible();
  await expect(page.locator("#replay-set")).toHaveText("HOST_FAILURE_RATIO=0.5");
});

test("a bad setting is refused with the start-up error, and nothing runs", async ({ page }, testInfo) => {
  await openReplay(page, testInfo);
  const form = page.locator("#start-replay");
  const box = form.getByLabel("Settings");
  await box.fill((await box.inputValue()).replace(/^HOST_FAILURE_RATIO=.*$/m, "HOST_FAILURE_RATIO=2"));
  await form.getByRole("button", { name: "Replay" }).click();
  await expect(page.getByRole("alert")).toContainText(
    'HOST_FAILURE_RATIO: expected a number strictly between 0 and 1, e.g. 0.1, got "2"',
  );
  await expect(page.locator("#replay")).toHaveCount(0);
});
