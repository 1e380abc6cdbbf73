import { listDurableObjectIds } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createShow, json } from "./fixtures";
import { api, bearer, fanToken, problem, uniqueFan } from "./helpers";

const unknownShowId = () => `shw_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;

/** Whether a Show DO named `name` has ever been created (it would have written its schema). */
async function showObjectExists(name: string) {
  const wanted = env.SHOW.idFromName(name);
  return (await listDurableObjectIds(env.SHOW)).some((id) => id.equals(wanted));
}

describe("unknown show ids are refused at the edge without creating a Durable Object", () => {
  it("a known show's object is listed, so the check below can see an object being created", async () => {
    const { showId } = await createShow();
    expect(await showObjectExists(showId)).toBe(true);
  });

  const fan = async () => bearer(await fanToken(uniqueFan()));
  const routes: [string, (showId: string) => Promise<Response>][] = [
    ["GET /v1/shows/{id}", (id) => api(`/v1/shows/${id}`)],
    ["GET /v1/shows/{id}/seat-map", (id) => api(`/v1/shows/${id}/seat-map`)],
    ["GET /v1/shows/{id}/seat-map?section=A", (id) => api(`/v1/shows/${id}/seat-map?section=A`)],
    [
      "POST /v1/shows/{id}/holds",
      async (id) =>
        api(`/v1/shows/${id}/holds`, {
          method: "POST",
          headers: { ...(await fan()), "idempotency-key": crypto.randomUUID() },
          json: { seat_ids: ["A-1-1"] },
        }),
    ],
    [
      "GET /v1/holds/{hold of id}",
      async (id) => api(`/v1/holds/hld_${"a".repeat(20)}_${id.slice(4)}`, { headers: await fan() }),
    ],
    [
      "DELETE /v1/holds/{hold of id}",
      async (id) => api(`/v1/holds/hld_${"b".repeat(20)}_${id.slice(4)}`, { method: "DELETE", headers: await fan() }),
    ],
    [
      "POST /v1/shows/{id}/waitlist",
      async (id) => api(`/v1/shows/${id}/waitlist`, { method: "POST", headers: await fan(), json: { quantity: 1 } }),
    ],
    ["GET /v1/shows/{id}/waitlist", async (id) => api(`/v1/shows/${id}/waitlist`, { headers: await fan() })],
    [
      "DELETE /v1/shows/{id}/waitlist",
      async (id) => api(`/v1/shows/${id}/waitlist`, { method: "DELETE", headers: await fan() }),
    ],
    [
      "POST /v1/orders (for a hold of the show)",
      async (id) =>
        api("/v1/orders", {
          method: "POST",
          headers: { ...(await fan()), "idempotency-key": crypto.randomUUID() },
          json: { hold_id: `hld_${"c".repeat(20)}_${id.slice(4)}` },
        }),
    ],
    [
      "POST /v1/waiting-room/sessions",
      async (id) => api("/v1/waiting-room/sessions", { method: "POST", headers: await fan(), json: { show_id: id } }),
    ],
  ];

  it.each(routes)("%s with an unknown show: 404 problem+json and no object", async (_name, request) => {
    const showId = unknownShowId();
    const response = await request(showId);
    expect(response.status).toBe(404);
    expect((await problem(response)).code).toBe("not_found");
    expect(await showObjectExists(showId)).toBe(false);
  });

  it("a draft show is as unknown as a random id; publishing lists it, cancelling keeps it listed", async () => {
    const { organizer, showId } = await createShow({ publish: false });
    expect((await api(`/v1/shows/${showId}/seat-map`)).status).toBe(404);
    expect(await showObjectExists(showId)).toBe(false);

    const auth = bearer(organizer.key);
    await json(await api(`/v1/admin/shows/${showId}/publish`, { method: "POST", headers: auth }), 200);
    expect(await env.SEAT_MAPS.get(`show:${showId}`, "json")).toEqual({ status: "published" });
    await json(await api(`/v1/shows/${showId}/seat-map`), 200);

    await json(await api(`/v1/admin/shows/${showId}/cancel`, { method: "POST", headers: auth }), 200);
    expect(await env.SEAT_MAPS.get(`show:${showId}`, "json")).toEqual({ status: "cancelled" });
    expect((await json<{ status: string }>(await api(`/v1/shows/${showId}`), 200)).status).toBe("cancelled");
  });

  it("a show published before the directory existed is found again once re-published", async () => {
    const { organizer, showId } = await createShow();
    await env.SEAT_MAPS.delete(`show:${showId}`);
    const fresh = await createShow({ organizer });
    // The entry was deleted behind this isolate's back, and this isolate never read it.
    expect((await api(`/v1/shows/${showId}/seat-map`)).status).toBe(404);
    await json(await api(`/v1/admin/shows/${showId}/publish`, { method: "POST", headers: bearer(organizer.key) }), 200);
    await json(await api(`/v1/shows/${showId}/seat-map`), 200);
    await json(await api(`/v1/shows/${fresh.showId}/seat-map`), 200);
  });
});
