import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { test as base, expect, type Page, type TestInfo } from "@playwright/test";

// What every browser test shares: the stack's URL, an organizer API client that creates the
// shows a test needs, fresh fan ids, screenshots under e2e-results/screenshots (git-ignored)
// and an axe check.

export const stackUrl = () => {
  const url = process.env.ONSALE_E2E_URL;
  if (!url) throw new Error("ONSALE_E2E_URL is not set: run through `npm run test:e2e`");
  return url;
};

export async function organizer<T = Record<string, unknown>>(
  method: string,
  route: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${stackUrl()}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${process.env.ONSALE_E2E_ORGANIZER_KEY}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${route} → ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

export const DEMO_VENUE = "ven_demo_arena";

export interface TestShow {
  showId: string;
  eventId: string;
  eventName: string;
}

/**
 * A published show at the demo arena (six sections of 400 seats: FLA/FLB €145, L101/L102 €89,
 * B201/B202 €49), on sale now, with its own event so tests never share seats.
 */
export async function createShow({
  holdTtlS = 600,
  ticketLimit = 8,
  room,
  name = "Nightfall Orchestra: Winter Lights",
}: {
  holdTtlS?: number;
  ticketLimit?: number;
  room?: { paused?: boolean; admit_per_minute?: number; checkout_window_s?: number; opens_at?: string | null };
  name?: string;
} = {}): Promise<TestShow> {
  const event = await organizer<{ event_id: string }>("POST", "/v1/admin/events", {
    name,
    category: "concert",
    performers: ["The Test Pilots"],
    venue_id: DEMO_VENUE,
  });
  const day = 86_400_000;
  const show = await organizer<{ show_id: string }>("POST", `/v1/admin/events/${event.event_id}/shows`, {
    starts_at: new Date(Date.now() + 20 * day).toISOString(),
    on_sale_at: new Date(Date.now() - 60_000).toISOString(),
    currency: "EUR",
    ticket_limit: ticketLimit,
    hold_ttl_s: holdTtlS,
    price_tiers: [
      { name: "Floor", price_cents: 14_500, sections: ["FLA", "FLB"] },
      { name: "Lower Bowl", price_cents: 8_900, sections: ["L101", "L102"] },
      { name: "Balcony", price_cents: 4_900, sections: ["B201", "B202"] },
    ],
  });
  await organizer("POST", `/v1/admin/shows/${show.show_id}/publish`);
  if (room) {
    await organizer("PATCH", `/v1/admin/shows/${show.show_id}/waiting-room`, {
      enabled: true,
      paused: false,
      admit_per_minute: 60,
      max_active: 500,
      checkout_window_s: 900,
      ...room,
    });
  }
  return { showId: show.show_id, eventId: event.event_id, eventName: name };
}

/** The queue place the page keeps in localStorage for a show (see web/src/pages/show/queue-store.ts). */
/** Every seat id of a show, read from its public seat map (overlay → geometry). */
export async function allSeatIds(showId: string): Promise<string[]> {
  const overlay = (await (await fetch(`${stackUrl()}/v1/shows/${showId}/seat-map`)).json()) as {
    geometry: { geometry_url: string };
  };
  const geometry = (await (await fetch(`${stackUrl()}${overlay.geometry.geometry_url}`)).json()) as {
    sections: { rows: { seats: { id: string }[] }[] }[];
  };
  return geometry.sections.flatMap((section) => section.rows.flatMap((row) => row.seats.map((seat) => seat.id)));
}

export const storedQueueSession = (page: Page) =>
  page.evaluate(() => {
    const key = Object.keys(localStorage).find((k) => k.startsWith("onsale.queue."));
    return key ? (JSON.parse(localStorage.getItem(key)!) as { session_id: string }).session_id : null;
  });

/** Clicks a seat on the map once its availability has arrived (until then it cannot be picked). */
export async function pickSeat(page: Page, seatId: string) {
  const seat = page.locator(`[data-seat="${seatId}"]`);
  await expect(seat).toHaveClass(/seat-pickable/);
  await seat.click();
  await expect(seat).toHaveClass(/seat-selected/);
}

export const fanId = (label: string) => `fan_e2e_${label}_${randomBytes(4).toString("hex")}`;

/** A fan token straight from the API, for fans the test drives without a browser. */
export async function fanToken(id: string): Promise<string> {
  const response = await fetch(`${stackUrl()}/v1/dev/tokens`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ fan_id: id }),
  });
  return ((await response.json()) as { token: string }).token;
}

export async function signInThroughForm(page: Page, id: string) {
  await page.getByLabel("Fan id").fill(id);
  await page.getByRole("button", { name: "Sign in" }).last().click();
  await expect(page.getByText(`Signed in as ${id}`)).toBeVisible();
}

const screenshots = path.resolve(import.meta.dirname, "..", "e2e-results", "screenshots");
mkdirSync(screenshots, { recursive: true });

export async function screenshot(page: Page, info: TestInfo, name: string) {
  const file = path.join(screenshots, `${info.project.name}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  await info.attach(name, { path: file, contentType: "image/png" });
}

/** axe on the page as it is now: no serious or critical violation (WCAG 2.2 A and AA rules). */
export async function expectAccessible(page: Page, where: string) {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"])
    .analyze();
  const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const summary = serious.map(
    (v) =>
      `${v.id} (${v.impact}): ${v.help} — ${v.nodes
        .map((n) => n.target.join(" "))
        .slice(0, 5)
        .join(", ")}`,
  );
  expect(summary, `axe on ${where}`).toEqual([]);
}

export const test = base.extend<{ baseURL: string }>({
  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads a fixture's dependencies from this pattern
  baseURL: async ({}, use) => {
    await use(stackUrl());
  },
});
export { expect };
