import type { Page } from "@playwright/test";
import {
  createShow,
  expect,
  expectAccessible,
  fanId,
  fanToken,
  screenshot,
  signInThroughForm,
  stackUrl,
  type TestShow,
  test,
} from "./fixtures";

// The organizer console beyond the room (organizer.spec.ts): the show list from the organizer
// API, blocking seats on the map and in the list (a fan then sees them unavailable), and refunds.

async function openConsole(page: Page, show: TestShow) {
  await page.goto("/organizer");
  await page.getByLabel("Organizer API key").fill(process.env.ONSALE_E2E_ORGANIZER_KEY!);
  await page.getByRole("button", { name: "Open the console" }).click();
  await expect(page.getByText("Signed in as")).toBeVisible();
  // The show list is the organizer's own events (newest first), drafts included.
  const event = page.getByTestId("organizer-events").locator("li.organizer-event", { hasText: show.eventName });
  await expect(event).toBeVisible();
  await expectAccessible(page, "organizer show list");
  await event.getByRole("link").first().click();
  await expect(page.getByRole("heading", { level: 1, name: show.eventName })).toBeVisible();
}

async function api<T>(route: string, token: string, body: unknown): Promise<T> {
  const response = await fetch(`${stackUrl()}${route}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      "idempotency-key": crypto.randomUUID(),
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${route} → ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** A fan buys seats through the API with the approved test card. */
async function buy(showId: string, seatIds: string[]) {
  const token = await fanToken(fanId("buyer"));
  const hold = await api<{ hold_id: string }>(`/v1/shows/${showId}/holds`, token, { seat_ids: seatIds });
  const order = await api<{ order_id: string; payment: { payment_id: string } }>("/v1/orders", token, {
    hold_id: hold.hold_id,
  });
  await api(`/v1/payments/${order.payment.payment_id}/confirm`, token, { payment_method: "pm_card_visa" });
  return order.order_id;
}

test("the organizer blocks seats on the map and in the list; a fan sees them unavailable", async ({
  page,
  browser,
}, info) => {
  const show = await createShow({ name: `Blocked Seats ${Date.now().toString(36)}` });
  await openConsole(page, show);

  const seats = page.getByRole("region", { name: "Block and unblock seats" });
  // By pointer: a section, then a seat on the map.
  await seats.getByRole("button", { name: /^Floor Left/ }).click();
  const mapSeat = seats.locator('[data-seat="FLA-1-1"]');
  await expect(mapSeat).toHaveClass(/seat-pickable/);
  await mapSeat.click();
  await expect(mapSeat).toHaveClass(/seat-selected/);
  // By keyboard: the list walks section → row → seats as checkboxes.
  await seats.getByLabel("Row", { exact: true }).selectOption("1");
  await seats.getByLabel("Row 1, seat 2: available").check();
  await expect(seats.getByTestId("block-selection")).toContainText("2 seats chosen");
  await seats.getByLabel("Reason for blocking").selectOption({ label: "Artist hold" });
  await seats.getByRole("button", { name: "Block 2 seats", exact: true }).click();
  await expect(seats.getByRole("status")).toHaveText("Blocked 2 seats.");
  await expect(mapSeat).toHaveClass(/seat-blocked/);
  await expect(seats.getByLabel("Row 1, seat 2: blocked (Artist hold)")).toBeVisible();
  await expect(page.getByTestId("sales-stats").locator(".stat", { hasText: "Blocked" })).toContainText("2");
  await expectAccessible(page, "organizer seats");
  await screenshot(page, info, "organizer-seats-blocked");

  // A fan in another browser sees both seats unavailable, their neighbour still free.
  const fanContext = await browser.newContext();
  const fan = await fanContext.newPage();
  await fan.goto(`/shows/${show.showId}`);
  await signInThroughForm(fan, fanId("sees_blocked"));
  await fan.getByRole("button", { name: /^Floor Left/ }).click();
  await expect(fan.locator('[data-seat="FLA-1-3"]')).toHaveClass(/seat-pickable/);
  await expect(fan.locator('[data-seat="FLA-1-1"]')).not.toHaveClass(/seat-pickable/);
  await expect(fan.locator('[data-seat="FLA-1-2"]')).not.toHaveClass(/seat-pickable/);
  await screenshot(fan, info, "fan-sees-blocked");

  // Unblocking puts one back on sale; the fan's map follows at its next refresh.
  await seats.getByLabel("Row 1, seat 2: blocked (Artist hold)").check();
  await seats.getByRole("button", { name: "Unblock 1 seat", exact: true }).click();
  await expect(seats.getByRole("status")).toHaveText("Put 1 seat back on sale.");
  await expect(fan.locator('[data-seat="FLA-1-2"]')).toHaveClass(/seat-pickable/, { timeout: 20_000 });
  await fanContext.close();
});

test("the organizer finds an order, refunds one ticket then the rest, and sees refunded_cents", async ({
  page,
}, info) => {
  const show = await createShow({ name: `Refunds ${Date.now().toString(36)}` });
  const orderId = await buy(show.showId, ["FLB-2-1", "FLB-2-2"]);
  await openConsole(page, show);

  // The show's orders, with the new one and its totals.
  const row = page.getByTestId("show-orders").locator(`tr[data-order="${orderId}"]`);
  await expect(row).toContainText("€290");
  await expect(row).toContainText("Confirmed");
  // Sales per minute counts it in the current minute.
  await expect(page.getByTestId("sales-timeline")).toContainText("€290");

  // Find by id, refund the ticket for one seat.
  await page.getByLabel("Find an order by id").fill(orderId);
  await page.getByRole("button", { name: "Find", exact: true }).click();
  const panel = page.getByTestId("refund-panel");
  await expect(panel.getByRole("heading", { name: `Refund order ${orderId}` })).toBeFocused();
  await panel.getByLabel("Ticket for seat FLB-2-1").check();
  await panel.getByRole("button", { name: "Refund", exact: true }).click();
  await expect(panel.getByTestId("refund-outcome")).toHaveText("Done: the order is Confirmed; refunded €145 of €290.");
  await expect(row).toContainText("€145");
  await expectAccessible(page, "organizer refund");
  await screenshot(page, info, "organizer-refund-partial");

  // The rest: the order ends refunded.
  await panel.getByRole("button", { name: "Refund everything left" }).click();
  await expect(panel.getByTestId("refund-outcome")).toHaveText("Done: the order is Refunded; refunded €290 of €290.");
  await expect(panel).toContainText("Nothing is left to refund");
  await expect(row).toContainText("Refunded");
  await expect(page.getByTestId("sales-stats").locator(".stat", { hasText: "Refunded" })).toContainText("€290");
  await screenshot(page, info, "organizer-refund-full");
});
