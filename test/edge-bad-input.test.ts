import { describe, expect, it } from "vitest";
import { createShow } from "./fixtures";
import { api, bearer, problem } from "./helpers";

const cursorOf = (at: string, id: string) => btoa(JSON.stringify([at, id])).replaceAll("=", "");

describe("bad input is a 4xx problem, never a 500", () => {
  it.each([
    ["past bigint", cursorOf("99999999999999999999", "evt_x")],
    ["below bigint", cursorOf("-99999999999999999999", "evt_x")],
    ["one past the largest bigint", cursorOf("9223372036854775808", "evt_x")],
  ])("a cursor %s: 400 invalid_cursor", async (_name, value) => {
    const response = await api(`/v1/events?cursor=${value}`);
    expect(response.status).toBe(400);
    expect((await problem(response)).code).toBe("invalid_cursor");
  });

  it("the largest bigint is still a cursor Postgres can compare", async () => {
    expect((await api(`/v1/events?cursor=${cursorOf("9223372036854775807", "evt_x")}`)).status).toBe(200);
  });

  it.each([
    "from=-271821-04-20",
    "to=%2B275760-09-13",
    "to=275760-09-13",
    "from=9999-12-31&to=9999-12-31",
    "from=-001000-01-01",
    "from=0000-01-01",
  ])("a search date far in the past or future (%s): 400 invalid_query", async (query) => {
    const response = await api(`/v1/events?${query}`);
    expect(response.status).toBe(400);
    const body = await problem(response);
    expect(body.code).toBe("invalid_query");
  });

  it.each([
    ["on_sale_at", "2030-01-01T00:00Z", "0000-01-01T00:00Z"],
    ["on_sale_at", "2030-01-01T00:00Z", "0001-01-01T00:00"],
    ["starts_at", "9999-12-31T23:59:59Z", "2026-01-01T00:00Z"],
    ["starts_at", "9999-12-31T23:59", "2026-01-01T00:00Z"],
  ])("a show whose %s is far out: 422 naming the field", async (field, starts_at, on_sale_at) => {
    const { organizer, eventId } = await createShow({ publish: false });
    const response = await api(`/v1/admin/events/${eventId}/shows`, {
      method: "POST",
      headers: bearer(organizer.key),
      json: { starts_at, on_sale_at, price_tiers: [{ name: "All", price_cents: 100, sections: ["A", "B"] }] },
    });
    expect(response.status).toBe(422);
    const body = await problem(response);
    expect(body.code).toBe("invalid_show");
    expect(body.errors?.map((e) => e.path)).toContain(field);
  });

  it.each(["9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z"])(
    "a waiting room opening at %s: 422 on opens_at, the room unchanged",
    async (opens_at) => {
      const { organizer, showId } = await createShow();
      const response = await api(`/v1/admin/shows/${showId}/waiting-room`, {
        method: "PATCH",
        headers: bearer(organizer.key),
        json: { enabled: true, opens_at },
      });
      expect(response.status).toBe(422);
      expect((await problem(response)).errors?.map((e) => e.path)).toEqual(["opens_at"]);
      const show = (await (await api(`/v1/shows/${showId}`)).json()) as { waiting_room: { enabled: boolean } };
      expect(show.waiting_room.enabled).toBe(false);
    },
  );
});
