import { hashOrganizerKey } from "../auth/organizer-key";
import type { Database } from "../db/client";
import { events, organizerApiKeys, organizers, priceTiers, shows, venues } from "../db/schema";
import { newId } from "../lib/ids";
import { publishShow } from "./publish";
import type { SeatMap } from "./seat-map";
import { storeSeatMapVersion } from "./seat-map-store";

/**
 * The demo venue `npm run dev` seeds: an arena of 2,400 seats in six sections around a stage,
 * with accessible seats on the front rows of the lower bowl and obstructed-view seats at the
 * balcony's edges. Deterministic, so a second seed produces the same map.
 */
export function demoArenaSeatMap(): SeatMap {
  const sections = [
    { id: "FLA", name: "Floor Left", x: 0, y: 120 },
    { id: "FLB", name: "Floor Right", x: 240, y: 120 },
    { id: "L101", name: "Lower 101", x: 0, y: 360 },
    { id: "L102", name: "Lower 102", x: 240, y: 360 },
    { id: "B201", name: "Balcony 201", x: 0, y: 600 },
    { id: "B202", name: "Balcony 202", x: 240, y: 600 },
  ];
  const rows = 20;
  const seatsPerRow = 20;
  const pitch = 10;
  return {
    stage: {
      points: [
        [100, 20],
        [380, 20],
        [380, 100],
        [100, 100],
      ],
    },
    sections: sections.map((section) => ({
      id: section.id,
      name: section.name,
      shape: {
        type: "polygon",
        points: [
          [section.x, section.y],
          [section.x + 220, section.y],
          [section.x + 220, section.y + 220],
          [section.x, section.y + 220],
        ],
      },
      rows: Array.from({ length: rows }, (_, r) => {
        const rowLabel = String(r + 1);
        return {
          label: rowLabel,
          seats: Array.from({ length: seatsPerRow }, (_, s) => {
            const number = String(s + 1);
            const balcony = section.id.startsWith("B");
            return {
              id: `${section.id}-${rowLabel}-${number}`,
              number,
              x: section.x + 15 + s * pitch,
              y: section.y + 15 + r * pitch,
              accessible: section.id.startsWith("L") && r === 0 && s < 4,
              obstructed_view: balcony && (s === 0 || s === seatsPerRow - 1),
            };
          }),
        };
      }),
    })),
  };
}

export const demoTiers = [
  { name: "Floor", price_cents: 14_500, section_ids: ["FLA", "FLB"] },
  { name: "Lower Bowl", price_cents: 8_900, section_ids: ["L101", "L102"] },
  { name: "Balcony", price_cents: 4_900, section_ids: ["B201", "B202"] },
];

export const demoIds = {
  organizer: "org_demo",
  venue: "ven_demo_arena",
  event: "evt_demo_aurora",
  showOnSale: "shw_demo_aurora_1",
  showLater: "shw_demo_aurora_2",
} as const;

/**
 * Seeds the demo organizer (with the given API key), venue, event and two shows, one on sale
 * now and one later, and publishes both. Fixed ids make a second run a no-op that keeps the
 * first run's data; a new key is simply added.
 */
export async function seedDemo(db: Database, env: Env, organizerApiKey: string) {
  const now = Date.now();
  const day = 86_400_000;
  const map = demoArenaSeatMap();
  await db.transaction(async (tx) => {
    await tx.insert(organizers).values({ id: demoIds.organizer, name: "Aurora Live (demo)" }).onConflictDoNothing();
    await tx
      .insert(organizerApiKeys)
      .values({
        id: newId("key"),
        organizerId: demoIds.organizer,
        name: "development",
        prefix: organizerApiKey.slice(0, 12),
        keyHash: await hashOrganizerKey(organizerApiKey),
      })
      .onConflictDoNothing();
    await tx
      .insert(venues)
      .values({
        id: demoIds.venue,
        organizerId: demoIds.organizer,
        name: "Harbour Arena",
        city: "Lisbon",
        country: "PT",
        timezone: "Europe/Lisbon",
        address: "Rossio dos Olivais, Lisbon",
      })
      .onConflictDoNothing();
    await storeSeatMapVersion(tx, env, demoIds.venue, 1, map);
    await tx
      .insert(events)
      .values({
        id: demoIds.event,
        organizerId: demoIds.organizer,
        venueId: demoIds.venue,
        name: "Aurora — The Northern Lights Tour",
        description: "Two nights of Aurora in the round.",
        category: "concert",
        performers: ["Aurora", "The Tide Singers"],
      })
      .onConflictDoNothing();
    const showRows = [
      { id: demoIds.showOnSale, startsAt: new Date(now + 30 * day), onSaleAt: new Date(now - 3_600_000) },
      { id: demoIds.showLater, startsAt: new Date(now + 31 * day), onSaleAt: new Date(now + 7 * day) },
    ];
    for (const show of showRows) {
      const inserted = await tx
        .insert(shows)
        .values({
          ...show,
          eventId: demoIds.event,
          venueId: demoIds.venue,
          seatMapVersion: 1,
          timezone: "Europe/Lisbon",
          currency: "EUR",
        })
        .onConflictDoNothing()
        .returning({ id: shows.id });
      if (inserted.length === 0) continue;
      await tx.insert(priceTiers).values(
        demoTiers.map((tier, i) => ({
          id: newId("tir"),
          showId: show.id,
          name: tier.name,
          priceCents: tier.price_cents,
          currency: "EUR",
          sectionIds: tier.section_ids,
          sortOrder: i,
        })),
      );
    }
  });
  for (const showId of [demoIds.showOnSale, demoIds.showLater]) {
    await publishShow(db, env, showId, demoIds.organizer);
  }
  return demoIds;
}
