import { expect, expectAccessible, fanId, organizer, screenshot, signInThroughForm, test } from "./fixtures";

/** A club: a small seated balcony and a standing pit of 50 (general admission). */
async function createClubShow() {
  const square = (x0: number, y0: number, size: number) =>
    [
      [x0, y0],
      [x0 + size, y0],
      [x0 + size, y0 + size],
      [x0, y0 + size],
    ] as [number, number][];
  const venue = await organizer<{ venue_id: string }>("POST", "/v1/admin/venues", {
    name: "Test Club",
    city: "Porto",
    country: "PT",
    timezone: "Europe/Lisbon",
    seat_map: {
      sections: [
        {
          id: "PIT",
          name: "Standing pit",
          shape: { type: "polygon", points: square(0, 0, 100) },
          ga_capacity: 50,
          rows: [],
        },
        {
          id: "BAL",
          name: "Balcony",
          shape: { type: "polygon", points: square(0, 120, 60) },
          rows: [1, 2].map((r) => ({
            label: String(r),
            seats: [1, 2, 3, 4].map((n) => ({ id: `BAL-${r}-${n}`, number: String(n), x: n * 10, y: 120 + r * 10 })),
          })),
        },
      ],
    },
  });
  const event = await organizer<{ event_id: string }>("POST", "/v1/admin/events", {
    name: "Pit Night",
    category: "concert",
    performers: ["The Standing Ovations"],
    venue_id: venue.venue_id,
  });
  const show = await organizer<{ show_id: string }>("POST", `/v1/admin/events/${event.event_id}/shows`, {
    starts_at: new Date(Date.now() + 20 * 86_400_000).toISOString(),
    on_sale_at: new Date(Date.now() - 60_000).toISOString(),
    currency: "EUR",
    ticket_limit: 6,
    price_tiers: [
      { name: "Pit", price_cents: 3_000, sections: ["PIT"] },
      { name: "Balcony", price_cents: 4_000, sections: ["BAL"] },
    ],
  });
  await organizer("POST", `/v1/admin/shows/${show.show_id}/publish`);
  return show.show_id;
}

test("a fan buys three general-admission tickets by quantity and gets three numbered tickets with QR codes", async ({
  page,
}, info) => {
  const showId = await createClubShow();
  await page.goto(`/shows/${showId}`);
  await signInThroughForm(page, fanId("pit"));

  await expect(page.getByRole("heading", { name: "Choose your seats" })).toBeVisible();
  const pit = page.getByRole("form", { name: "Standing pit" });
  await expect(pit.getByText("50 left · €30 each")).toBeVisible();
  const quantity = pit.getByLabel("Tickets for Standing pit");
  await expect(quantity).toHaveValue("1");
  // The stepper and the field are keyboard controls like any other.
  await pit.getByRole("button", { name: "One ticket more for Standing pit" }).click();
  await expect(quantity).toHaveValue("2");
  await quantity.fill("3");
  await expect(pit.getByRole("button", { name: "Hold 3 tickets for Standing pit" })).toBeEnabled();
  await expectAccessible(page, "seat picker with a standing area");
  await screenshot(page, info, "general-admission");
  await quantity.press("Enter");

  await expect(page.getByRole("heading", { name: "Checkout" })).toBeVisible();
  await expect(page.getByText("Standing pit · General admission × 3")).toBeVisible();
  await page.getByRole("button", { name: "Continue to payment" }).click();
  await expect(page.getByLabel("Visa ending 4242 (approved)")).toBeChecked();
  await page.getByRole("button", { name: "Pay €90" }).click();

  await expect(page.getByRole("heading", { name: "You are going! Your tickets are ready." })).toBeVisible();
  await page.getByRole("link", { name: "See my tickets" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "My tickets" })).toBeVisible();
  const qrCodes = page.locator("img.qr");
  await expect(qrCodes).toHaveCount(3);
  for (const qr of await qrCodes.all()) {
    await expect(qr).toHaveAttribute("alt", /^QR code for PIT · General admission · No\. [123]$/);
  }
  await expectAccessible(page, "wallet with general-admission tickets");

  // The capacity the fan bought is gone from the public count (the overlay is cached ~1 s).
  const pitLeft = async () => {
    const overlay = await page.request.get(`/v1/shows/${showId}/seat-map`);
    const body = (await overlay.json()) as { sections: { section_id: string; available: number }[] };
    return body.sections.find((s) => s.section_id === "PIT")?.available;
  };
  await expect.poll(pitLeft).toBe(47);
});
