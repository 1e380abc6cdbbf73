import {
  createShow,
  expect,
  expectAccessible,
  fanId,
  fanToken,
  organizer,
  pickSeat,
  screenshot,
  signInThroughForm,
  stackUrl,
  storedQueueSession,
  test,
} from "./fixtures";

test("a fan joins a queue that is on, waits, is admitted, picks two seats on the map, pays and gets two tickets with QR codes", async ({
  page,
}, info) => {
  const show = await createShow({ room: { paused: true, admit_per_minute: 120 } });
  // Three fans joined before this one, so there is a line to wait in.
  for (const label of ["a", "b", "c"]) {
    const token = await fanToken(fanId(`ahead_${label}`));
    const joined = await fetch(`${stackUrl()}/v1/waiting-room/sessions`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ show_id: show.showId }),
    });
    expect(joined.status).toBe(201);
  }

  await page.goto(`/shows/${show.showId}`);
  await expect(page.getByRole("heading", { level: 1, name: show.eventName })).toBeVisible();
  await expectAccessible(page, "show page, signed out");
  await signInThroughForm(page, fanId("buyer"));

  await expect(page.getByRole("heading", { name: "You are in line" })).toBeVisible();
  // Positions are estimates at the edge: three fans arrived in the same second as this one.
  await expect(page.locator(".big-number")).toHaveText(/^#[2-5]$/);
  await expect(page.getByText(/About [1-4] (person|people) ahead of you/).first()).toBeVisible();
  await expect(page.getByRole("progressbar", { name: "Progress through the line" })).toBeVisible();
  await expect(page.getByText("The line is paused by the organizer")).toBeVisible();
  await expect(page.getByText(/Last updated/)).toBeVisible();
  await expect(page).toHaveTitle(/#[2-5] in line/);
  await expectAccessible(page, "waiting page");
  await screenshot(page, info, "waiting-page");

  // Reloading keeps the place (the queue ticket is in localStorage).
  const place = await storedQueueSession(page);
  expect(place).toMatch(/^wrs_/);
  await page.reload();
  await expect(page.locator(".big-number")).toHaveText(/^#[2-5]$/);
  expect(await storedQueueSession(page)).toBe(place);

  await organizer("PATCH", `/v1/admin/shows/${show.showId}/waiting-room`, { paused: false });
  await expect(page.getByRole("heading", { name: "It is your turn!" })).toBeVisible({ timeout: 45_000 });
  await expect(page).toHaveTitle(/Your turn/);
  await expect(page.locator("[aria-live=assertive]")).toContainText("It is your turn!");
  await expect(page.locator("main").getByText(/You have 15 minutes to choose seats and pay/)).toBeVisible();
  await screenshot(page, info, "admitted");
  await page.getByRole("button", { name: "Choose seats" }).click();

  await expect(page.getByRole("heading", { name: "Choose your seats" })).toBeVisible();
  await expect(page.getByText("Time left to choose")).toBeVisible();
  await page.getByRole("button", { name: /^Floor Left 400 left/ }).click();
  await pickSeat(page, "FLA-3-10");
  await pickSeat(page, "FLA-3-11");
  await expect(page.getByRole("button", { name: "Hold 2 seats" })).toBeEnabled();
  await expect(page.locator(".selection .total")).toContainText("€290");
  await expectAccessible(page, "seat map, zoomed into a section");
  await screenshot(page, info, "seat-map");
  await page.getByRole("button", { name: "Hold 2 seats" }).click();

  await expect(page.getByRole("heading", { name: "Checkout" })).toBeVisible();
  const timer = page.getByRole("timer");
  await expect(timer).toHaveText(/^(9|10):\d\d$/);
  await expect(page.getByText("Section Floor Left, row 3, seat 10, €145")).toBeVisible();
  await page.getByRole("button", { name: "Continue to payment" }).click();
  await expect(page.getByText("Pay within")).toBeVisible();
  await expect(page.getByRole("timer")).toHaveText(/^1[45]:\d\d$/);
  await expect(page.getByLabel("Visa ending 4242 (approved)")).toBeChecked();
  await expectAccessible(page, "payment");
  await screenshot(page, info, "checkout");
  await page.getByRole("button", { name: "Pay €290" }).click();

  await expect(page.getByRole("heading", { name: "You are going! Your tickets are ready." })).toBeVisible();
  await page.getByRole("link", { name: "See my tickets" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "My tickets" })).toBeVisible();
  const qrCodes = page.locator("img.qr");
  await expect(qrCodes).toHaveCount(2);
  for (const qr of await qrCodes.all()) {
    await expect(qr).toHaveAttribute("alt", /QR code for FLA · Row 3 · 1[01]/);
    await expect.poll(() => qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
  }
  await expect(page.getByRole("cell", { name: "Confirmed" })).toBeVisible();
  await expectAccessible(page, "wallet");
  await screenshot(page, info, "wallet");
});
