import { createShow, expect, fanId, pickSeat, screenshot, signInThroughForm, test } from "./fixtures";

test("two fans in two browsers: the seats one holds become unavailable to the other", async ({ browser }, info) => {
  const show = await createShow();
  const alice = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  const bob = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  // Every live seat-map frame Bob's page receives, with when it arrived.
  const bobFrames: { at: number; payload: string }[] = [];
  bob.on("websocket", (ws) => {
    if (!ws.url().includes("/seat-map/live")) return;
    ws.on("framereceived", (frame) => bobFrames.push({ at: Date.now(), payload: String(frame.payload) }));
  });
  for (const [page, name] of [
    [alice, "alice"],
    [bob, "bob"],
  ] as const) {
    await page.goto(`/shows/${show.showId}`);
    await signInThroughForm(page, fanId(name));
    await page.getByRole("button", { name: /^Floor Right / }).click();
  }
  const seats = ["FLB-1-9", "FLB-1-10"];
  for (const seat of seats) await expect(bob.locator(`[data-seat="${seat}"]`)).toHaveClass(/seat-pickable/);
  // Bob picks one of them too, but does not hold it yet.
  await pickSeat(bob, "FLB-1-9");

  for (const seat of seats) await pickSeat(alice, seat);
  const held = alice.waitForResponse((r) => r.url().endsWith("/holds") && r.request().method() === "POST");
  await alice.getByRole("button", { name: "Hold 2 seats" }).click();
  await held;
  const heldAt = Date.now();
  await expect(alice.getByRole("heading", { name: "Checkout" })).toBeVisible();

  // Bob's map hears it on the live feed (the 4 s overlay reload alone could not be this quick):
  // both seats grey out within a second of Alice's hold, and the one he had chosen leaves his
  // selection with a message.
  for (const seat of seats) {
    await expect(bob.locator(`[data-seat="${seat}"]`)).not.toHaveClass(/seat-pickable|seat-selected/, {
      timeout: 5_000,
    });
  }
  // Bob's page heard it on the live feed, within a second of Alice's hold being answered.
  const delta = bobFrames.find((f) => f.payload.includes('"delta"') && seats.every((seat) => f.payload.includes(seat)));
  expect(delta, "a live delta naming both seats reached Bob's page").toBeDefined();
  expect(delta!.at - heldAt, "ms from Alice's hold to the delta at Bob's page").toBeLessThan(1_000);
  await expect(bob.locator("main").getByRole("alert")).toContainText(
    "Just taken by someone else and removed from your seats: Floor Right · Row 1 · Seat 9",
  );
  await expect(bob.getByRole("button", { name: "Hold seats" })).toBeDisabled();
  await screenshot(bob, info, "two-fans-bob-map");
  // The list offers neither of them.
  await bob.getByRole("button", { name: "List", exact: true }).click();
  await bob.getByLabel("Row", { exact: true }).selectOption("1");
  await expect(bob.getByRole("checkbox", { name: /Section Floor Right, row 1, seat 11,/ })).toBeVisible();
  await expect(bob.getByRole("checkbox", { name: /Section Floor Right, row 1, seat (9|10),/ })).toHaveCount(0);
});
