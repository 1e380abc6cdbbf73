import {
  allSeatIds,
  createShow,
  expect,
  expectAccessible,
  fanId,
  organizer,
  screenshot,
  signInThroughForm,
  test,
} from "./fixtures";

// A sold-out show (every seat blocked by the organizer) offers its waitlist; seats that come
// back (unblocked) are reserved for the first fan in line, who sees the offer and buys it.

test("sold out: the fan joins the waitlist, gets an offer when seats come back, and buys it", async ({
  page,
}, info) => {
  const show = await createShow();
  const seats = await allSeatIds(show.showId);
  await organizer("POST", `/v1/admin/shows/${show.showId}/seats/block`, { seat_ids: seats, reason: "other" });

  await page.goto(`/shows/${show.showId}`);
  await signInThroughForm(page, fanId("waitlist"));
  const panel = page.getByRole("region", { name: "Waitlist" });
  await expect(panel).toContainText("This show is sold out");
  await panel.getByLabel("Tickets").selectOption("2");
  await panel.getByRole("button", { name: "Join the waitlist" }).click();
  await expect(panel).toContainText("You are number 1 on the waitlist for 2 tickets.");
  await expectAccessible(page, "waitlist joined");
  await screenshot(page, info, "waitlist-joined");

  // Two seats come back: the API reserves them for this fan; the page finds the offer by polling.
  await organizer("POST", `/v1/admin/shows/${show.showId}/seats/unblock`, { seat_ids: ["L102-2-5", "L102-2-6"] });
  await expect(panel).toContainText("2 seats are reserved for you (€178)", { timeout: 15_000 });
  await expect(panel.getByRole("timer")).toBeVisible();
  await screenshot(page, info, "waitlist-offer");

  // The wallet shows the place and the offer too.
  await page.getByRole("link", { name: "My tickets" }).first().click();
  const waitlists = page.getByRole("region", { name: "Waitlists" });
  await expect(waitlists).toContainText(show.eventName);
  await expect(waitlists).toContainText("2 seats are reserved for you");
  await expectAccessible(page, "wallet with a waitlist offer");
  await screenshot(page, info, "wallet-waitlist");
  await waitlists.getByRole("link", { name: "Buy these seats" }).click();

  await page.getByRole("region", { name: "Waitlist" }).getByRole("button", { name: "Buy these seats" }).click();
  await page.getByRole("button", { name: "Continue to payment" }).click();
  await page.getByLabel("Visa ending 4242 (approved)").check();
  await page.getByRole("button", { name: /^Pay €178/ }).click();
  await expect(page.getByRole("heading", { name: "You are going! Your tickets are ready." })).toBeVisible();
  await expect(page.locator("img.qr")).toHaveCount(2);
});
