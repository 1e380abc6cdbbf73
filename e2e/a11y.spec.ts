import {
  createShow,
  expect,
  expectAccessible,
  fanId,
  organizer,
  screenshot,
  signInThroughForm,
  test,
} from "./fixtures";

// axe on every page of the fan app (the flows check the pages they pass through as well).

test("browse, event, sign-in and not-found pages have no serious accessibility violation", async ({ page }, info) => {
  const name = `Axe Quartet ${info.project.name} ${Date.now().toString(36)}`;
  const show = await createShow({ name });
  await page.goto("/");
  await expect(page.getByRole("heading", { level: 1, name: "Find events" })).toBeVisible();
  // The first page lists the events showing soonest; other tests' events may push this one to a
  // later page, so the search below is what finds it.
  await expect(page.locator('main a[href^="/events/"]').first()).toBeVisible();
  await expectAccessible(page, "events");
  await screenshot(page, info, "events");

  await page.getByLabel("Search").fill(name);
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page).toHaveURL(/q=Axe\+Quartet/);
  await expect(page.getByRole("heading", { name: "1 event" })).toBeVisible();
  await page.getByRole("link", { name }).click();
  await expect(page.getByRole("heading", { level: 1, name })).toBeFocused();
  await expect(page.getByRole("link", { name: /Find tickets/ })).toHaveAttribute("href", `/shows/${show.showId}`);
  await expectAccessible(page, "event");
  await screenshot(page, info, "event");

  await page.goto("/sign-in");
  await expectAccessible(page, "sign-in");
  await page.goto("/no/such/page");
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await expectAccessible(page, "not found");
});

test("pre-queue waiting page: countdown to opening, no serious accessibility violation", async ({ page }, info) => {
  const opensAt = new Date(Date.now() + 10 * 60_000).toISOString();
  const show = await createShow({ room: { opens_at: opensAt } });
  await page.goto(`/shows/${show.showId}`);
  await signInThroughForm(page, fanId("prequeue"));
  await expect(page.getByText("The line opens soon")).toBeVisible();
  await expect(page.getByRole("timer")).toHaveText(/^(9|10):\d\d$/);
  await expect(page.getByRole("progressbar")).toBeVisible();
  await expectAccessible(page, "pre-queue");
  await screenshot(page, info, "prequeue");
  // The organizer opens the line: the countdown is gone once the show says so.
  await organizer("PATCH", `/v1/admin/shows/${show.showId}/waiting-room`, { opens_at: null });
});

test("seat map at a glance and the wallet with no tickets", async ({ page }, info) => {
  const show = await createShow();
  await page.goto(`/shows/${show.showId}`);
  await signInThroughForm(page, fanId("glance"));
  await expect(page.getByRole("button", { name: /^Floor Left 400 left, from €145$/ })).toBeVisible();
  await page.getByLabel("Maximum price per ticket").selectOption({ label: "Up to €89" });
  await expect(page.locator('[data-section="FLA"]')).toHaveClass(/section-filtered/);
  await expectAccessible(page, "seat map overview");
  await screenshot(page, info, "seat-map-overview");
  await page.goto("/me");
  await expect(page.getByText("You have no tickets yet.")).toBeVisible();
  await expectAccessible(page, "empty wallet");
});
