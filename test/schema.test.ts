import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { demoArenaSeatMap } from "../src/catalog/demo";
import { storeSeatMapVersion } from "../src/catalog/seat-map-store";
import { type Database, pgErrorCode, withDatabase } from "../src/db/client";
import { events, orders, priceTiers, shows, tickets, venues, webhookEvents } from "../src/db/schema";
import { newId } from "../src/lib/ids";
import { newOrganizer } from "./helpers";

// Constraints live in the database, not only in code: each test breaks one on purpose.

async function draftShow(db: Database) {
  const organizer = await newOrganizer();
  const venueId = newId("ven");
  const eventId = newId("evt");
  const showId = newId("shw");
  const tierId = newId("tir");
  await db.insert(venues).values({
    id: venueId,
    organizerId: organizer.id,
    name: "V",
    city: "Oslo",
    country: "NO",
    timezone: "Europe/Oslo",
  });
  await storeSeatMapVersion(db, env, venueId, 1, demoArenaSeatMap());
  await db.insert(events).values({ id: eventId, organizerId: organizer.id, venueId, name: "E", category: "concert" });
  await db.insert(shows).values({
    id: showId,
    eventId,
    venueId,
    seatMapVersion: 1,
    startsAt: new Date(Date.now() + 86_400_000),
    onSaleAt: new Date(),
    timezone: "Europe/Oslo",
  });
  await db.insert(priceTiers).values({ id: tierId, showId, name: "Floor", priceCents: 5000, sectionIds: ["FLA"] });
  const orderId = newId("ord");
  await db.insert(orders).values({
    id: orderId,
    showId,
    fanId: "fan_schema",
    holdId: newId("hld"),
    totalCents: 5000,
    expiresAt: new Date(Date.now() + 600_000),
  });
  return { showId, tierId, orderId };
}

const ticket = (show: Awaited<ReturnType<typeof draftShow>>, seatId: string, extra: object = {}) => ({
  id: newId("tkt"),
  orderId: show.orderId,
  showId: show.showId,
  seatId,
  tierId: show.tierId,
  priceCents: 5000,
  holderFanId: "fan_schema",
  ...extra,
});

const sqlState = async (work: Promise<unknown>) =>
  work.then(
    () => "ok",
    (error) => pgErrorCode(error),
  );

describe("database constraints", () => {
  it("a seat of a show has at most one valid ticket (unique index over valid tickets)", async () => {
    await withDatabase(env, async (db) => {
      const show = await draftShow(db);
      expect(await sqlState(db.insert(tickets).values(ticket(show, "FLA-1-1")))).toBe("ok");
      expect(await sqlState(db.insert(tickets).values(ticket(show, "FLA-1-1")))).toBe("23505");
      expect(
        await sqlState(
          db.insert(tickets).values(ticket(show, "FLA-1-1", { status: "checked_in", checkedInAt: new Date() })),
        ),
      ).toBe("23505");
      // A voided ticket does not own the seat: the seat can be sold again.
      expect(
        await sqlState(db.insert(tickets).values(ticket(show, "FLA-1-2", { status: "void", voidedAt: new Date() }))),
      ).toBe("ok");
      expect(await sqlState(db.insert(tickets).values(ticket(show, "FLA-1-2")))).toBe("ok");
    });
  });

  it("a GA place has at most one valid ticket, and a ticket is a seat or a GA place, never both or neither", async () => {
    await withDatabase(env, async (db) => {
      const show = await draftShow(db);
      const ga = (n: number | null, extra: object = {}) =>
        ticket(show, null as unknown as string, { seatId: null, gaSectionId: "PIT", gaNumber: n, ...extra });
      expect(await sqlState(db.insert(tickets).values(ga(1)))).toBe("ok");
      expect(await sqlState(db.insert(tickets).values(ga(1)))).toBe("23505");
      expect(await sqlState(db.insert(tickets).values(ga(2)))).toBe("ok");
      // The same number in another section is another place.
      expect(await sqlState(db.insert(tickets).values(ga(1, { gaSectionId: "PIT2" })))).toBe("ok");
      expect(await sqlState(db.insert(tickets).values(ga(0)))).toBe("23514");
      // No seat and no number: not a place at all (its place_id would be null).
      expect(await sqlState(db.insert(tickets).values(ga(null)))).toBe("23502");
      expect(await sqlState(db.insert(tickets).values(ga(3, { seatId: "FLA-9-9" })))).toBe("23514");
      expect(await sqlState(db.insert(tickets).values(ticket(show, "FLA-9-8", { gaSectionId: "PIT" })))).toBe("23514");
    });
  });

  it("checks reject impossible values", async () => {
    await withDatabase(env, async (db) => {
      const show = await draftShow(db);
      expect(await sqlState(db.insert(tickets).values(ticket(show, "FLA-2-1", { status: "lost" })))).toBe("23514");
      expect(await sqlState(db.insert(tickets).values(ticket(show, "FLA-2-2", { status: "void" })))).toBe("23514");
      expect(
        await sqlState(
          db.insert(priceTiers).values({ id: newId("tir"), showId: show.showId, name: "Free money", priceCents: -1 }),
        ),
      ).toBe("23514");
      expect(
        await sqlState(
          db
            .insert(priceTiers)
            .values({ id: newId("tir"), showId: show.showId, name: "Bad", priceCents: 1, currency: "usd" }),
        ),
      ).toBe("23514");
    });
  });

  it("one order per hold, and a Stripe event is stored once", async () => {
    await withDatabase(env, async (db) => {
      const show = await draftShow(db);
      const holdId = newId("hld");
      const order = { showId: show.showId, fanId: "fan_schema", holdId, totalCents: 1, expiresAt: new Date() };
      expect(await sqlState(db.insert(orders).values({ id: newId("ord"), ...order }))).toBe("ok");
      expect(await sqlState(db.insert(orders).values({ id: newId("ord"), ...order }))).toBe("23505");
      const event = { providerEventId: `evt_${crypto.randomUUID()}`, type: "payment_intent.succeeded", payload: {} };
      expect(await sqlState(db.insert(webhookEvents).values(event))).toBe("ok");
      expect(await sqlState(db.insert(webhookEvents).values(event))).toBe("23505");
    });
  });
});
