import {
  allSeatIds,
  createShow,
  expect,
  expectAccessible,
  fanId,
  fanToken,
  organizer,
  screenshot,
  signInThroughForm,
  stackUrl,
  test,
} from "./fixtures";

// The waiting page tells the truth about what is left: sold out (with the waitlist in place),
// then every seat held (a waitlist offer holds the seats that came back: the line waits, with
// no ETA it cannot keep), then seats free again and the fan's turn comes.

async function asFan(id: string, method: string, route: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${stackUrl()}${route}`, {
    method,
    headers: {
      ...headers,
      authorization: `Bearer ${await fanToken(id)}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${route} → ${response.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

test("the waiting page: sold out with the waitlist, then all held, then the fan's turn", async ({ page }, info) => {
  test.setTimeout(90_000);
  const show = await createShow({ room: { admit_per_minute: 600 } });
  const seats = await allSeatIds(show.showId);
  await organizer("POST", `/v1/admin/shows/${show.showId}/seats/block`, { seat_ids: seats, reason: "other" });

  // A join on a sold-out show: told at once, no place, the waitlist offered right there.
  await page.goto(`/shows/${show.showId}`);
  await signInThroughForm(page, fanId("sold_out"));
  await expect(page.getByRole("heading", { name: "Sold out", level: 2 })).toBeVisible();
  await expect(page.getByRole("main").getByText("This show is sold out: every seat is sold.")).toBeVisible();
  const waitlist = page.getByRole("region", { name: "Waitlist" });
  await expect(waitlist.getByRole("button", { name: "Join the waitlist" })).toBeVisible();
  await expect(page).toHaveTitle(/Sold out/);
  await expectAccessible(page, "waiting page, sold out");
  await screenshot(page, info, "waiting-sold-out");

  // Another fan is on the waitlist first; two seats come back and are offered to them: every
  // seat is held or blocked, so the line (which this fan now joins) waits with no ETA.
  // The waitlist is open to fans who came through the door: the first one's join is answered
  // sold out with a ticket, which is its pass.
  const first = fanId("waitlist_first");
  const told = await asFan(first, "POST", "/v1/waiting-room/sessions", { show_id: show.showId });
  expect(told.status).toBe("sold_out");
  await asFan(
    first,
    "POST",
    `/v1/shows/${show.showId}/waitlist`,
    { quantity: 2 },
    {
      "waiting-room-ticket": String(told.ticket),
    },
  );
  await organizer("POST", `/v1/admin/shows/${show.showId}/seats/unblock`, { seat_ids: ["L102-2-5", "L102-2-6"] });
  await expect(page.getByRole("heading", { name: "You are in line" })).toBeVisible({ timeout: 20_000 });
  await expect(page.getByRole("main").getByText(/Every seat is held by fans checking out right now/)).toBeVisible();
  await expect(page.getByText("unknown until seats come back")).toBeVisible();
  await expectAccessible(page, "waiting page, all held");
  await screenshot(page, info, "waiting-all-held");

  // The offer is let go with nobody else on the waitlist: the seats are on sale, the turn comes.
  await asFan(first, "DELETE", `/v1/shows/${show.showId}/waitlist`);
  await expect(page.getByRole("heading", { name: "It is your turn!" })).toBeVisible({ timeout: 20_000 });
});
