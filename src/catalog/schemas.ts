import { z } from "@hono/zod-openapi";

// Catalog payloads shared by the organizer and fan routes. One schema per payload: it
// validates the request, types the handler and documents the API.

export const id = (prefix: string) =>
  z
    .string()
    .regex(new RegExp(`^${prefix}_[0-9a-z_]{1,64}$`), `must be a ${prefix}_… id`)
    .openapi({ example: `${prefix}_8k2m4q9x7v3n5p1r6t0w` });

export const categories = ["concert", "sports", "theatre", "comedy", "family", "festival", "other"] as const;

export const Venue = z
  .object({
    venue_id: z.string(),
    name: z.string(),
    city: z.string(),
    country: z.string(),
    timezone: z.string(),
    address: z.string().nullable(),
    current_seat_map_version: z.number().int(),
  })
  .openapi("Venue");

export const Event = z
  .object({
    event_id: z.string(),
    name: z.string(),
    description: z.string(),
    category: z.enum(categories),
    performers: z.array(z.string()),
    status: z.enum(["draft", "published", "cancelled"]),
    venue: z.object({ venue_id: z.string(), name: z.string(), city: z.string(), country: z.string() }),
    first_show_at: z.string().nullable().openapi({ description: "Start of the earliest published show" }),
  })
  .openapi("Event");

export const PriceTier = z
  .object({
    tier_id: z.string(),
    name: z.string(),
    price_cents: z.number().int(),
    currency: z.string(),
    section_ids: z.array(z.string()),
    seat_ids: z.array(z.string()),
  })
  .openapi("PriceTier");

export const Show = z
  .object({
    show_id: z.string(),
    event_id: z.string(),
    event_name: z.string(),
    status: z.enum(["draft", "published", "cancelled"]),
    starts_at: z.string().openapi({ description: "UTC instant" }),
    starts_at_local: z.string().openapi({ description: "Venue wall-clock time with its UTC offset" }),
    on_sale_at: z.string(),
    on_sale_at_local: z.string(),
    timezone: z.string(),
    currency: z.string(),
    ticket_limit: z.number().int(),
    hold_ttl_s: z.number().int(),
    venue: z.object({ venue_id: z.string(), name: z.string(), city: z.string(), country: z.string() }),
    seat_map: z.object({ venue_id: z.string(), version: z.number().int(), geometry_url: z.string() }),
    price_tiers: z.array(PriceTier),
  })
  .openapi("Show");
export type Show = z.infer<typeof Show>;

export const listOf = <T extends z.ZodType>(item: T) =>
  z.object({ data: z.array(item), next_cursor: z.string().nullable() });
