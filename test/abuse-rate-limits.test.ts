import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { limiterPeriodS, limitsFor } from "../src/middleware/rate-limit";
import { createShow, json } from "./fixtures";
import { api, bearer, fanToken, newOrganizer, problem, uniqueFan } from "./helpers";

// Fixed windows: N requests sent within one period span at most two windows, so 2 × limit + 1
// of them trip a limit of `limit` whatever the clock.
const IP_LIMIT = 100; // vitest.config.ts's IP_LIMITER (production: 20,000 per 10 s)
const FAN_LIMIT = 60; // wrangler.toml FAN_LIMITER
const VELOCITY_LIMIT = 20; // wrangler.toml VELOCITY_LIMITER
const ORGANIZER_LIMIT = 200; // vitest.config.ts's ORGANIZER_LIMITER (production: 600 per 10 s)

/** An address of the documentation ranges, unique to the test. */
const uniqueIp = () => `2001:db8::${crypto.randomUUID().slice(0, 4)}:${crypto.randomUUID().slice(0, 4)}`;

/**
 * Sends `count` requests, `concurrency` at a time, and returns the first refused one with how
 * many came before it. Concurrency keeps a burst well inside one window on a loaded machine.
 */
async function firstRefusal(count: number, send: () => Promise<Response>, concurrency = 1) {
  for (let sent = 0; sent < count; sent += concurrency) {
    const responses = await Promise.all(Array.from({ length: Math.min(concurrency, count - sent) }, send));
    const refused = responses.findIndex((response) => response.status === 429);
    for (const [i, response] of responses.entries()) if (i !== refused) await response.body?.cancel();
    if (refused >= 0) return { response: responses[refused]!, after: sent + refused };
  }
  return null;
}

async function expectRateLimited(response: Response, retryAfter: string) {
  expect(response.headers.get("retry-after")).toBe(retryAfter);
  const body = (await problem(response)) as unknown as { code: string; limit_group: string; limit_scope: string };
  expect(body.code).toBe("rate_limited");
  return body;
}

describe("rate limits per address, per fan, per organizer", () => {
  it("one address over its limit is refused 429 rate_limited before authentication; another address is not", async () => {
    const ip = uniqueIp();
    const poll = (address: string) =>
      api("/v1/waiting-room/sessions/wrs_nobody", { headers: { "cf-connecting-ip": address } });
    const refused = await firstRefusal(2 * IP_LIMIT + 1, () => poll(ip), 10);
    expect(refused, "the address was never limited").not.toBeNull();
    expect(refused!.after).toBeGreaterThanOrEqual(IP_LIMIT);
    const body = await expectRateLimited(refused!.response, String(limiterPeriodS.IP_LIMITER));
    expect(body).toMatchObject({ limit_group: "poll", limit_scope: "address" });
    // Another address, and this address on another route group, still get through (to the 401).
    expect((await poll(uniqueIp())).status).toBe(401);
    const join = await api("/v1/waiting-room/sessions", {
      method: "POST",
      headers: { "cf-connecting-ip": ip },
      json: {},
    });
    expect(join.status).toBe(401);
  });

  it("one fan over its limit is refused whatever its address; another fan is not", async () => {
    const fan = bearer(await fanToken(uniqueFan()));
    const poll = (auth: Record<string, string>) =>
      api("/v1/waiting-room/sessions/wrs_nobody", {
        headers: { ...auth, "waiting-room-ticket": "not-a-ticket", "cf-connecting-ip": uniqueIp() },
      });
    const refused = await firstRefusal(2 * FAN_LIMIT + 1, () => poll(fan));
    expect(refused, "the fan was never limited").not.toBeNull();
    expect(refused!.after).toBeGreaterThanOrEqual(FAN_LIMIT);
    const body = await expectRateLimited(refused!.response, String(limiterPeriodS.FAN_LIMITER));
    expect(body).toMatchObject({ limit_group: "poll", limit_scope: "fan" });
    expect((await poll(bearer(await fanToken(uniqueFan())))).status).not.toBe(429);
  });

  it("an organizer key over its limit is refused; another organizer is not", async () => {
    // Organizers made straight in Postgres: no request of theirs counts before the burst.
    const organizer = await newOrganizer();
    const other = { organizer: await newOrganizer() };
    const me = (key: string) => api("/v1/admin/organizer", { headers: bearer(key) });
    const refused = await firstRefusal(2 * ORGANIZER_LIMIT + 1, () => me(organizer.key), 25);
    expect(refused, "the organizer was never limited").not.toBeNull();
    expect(refused!.after).toBeGreaterThanOrEqual(ORGANIZER_LIMIT);
    const body = await expectRateLimited(refused!.response, String(limiterPeriodS.ORGANIZER_LIMITER));
    expect(body).toMatchObject({ limit_group: "organizer", limit_scope: "organizer" });
    expect((await me(other.organizer.key)).status).toBe(200);
  }, 120_000);

  it("every limited route documents 429, and the table covers join, poll, hold, order, confirm, waitlist and the organizer API", async () => {
    const doc = (await (await api("/openapi.json")).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    const groups = new Set<string>();
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const concrete = path.replaceAll(/\{[^}]+\}/g, "x_1");
        const limits = limitsFor(method.toUpperCase(), concrete);
        if (!limits) continue;
        groups.add(limits.group);
        expect(Object.keys(operation.responses), `${method} ${path}`).toContain("429");
      }
    }
    expect([...groups].sort()).toEqual(["confirm", "hold", "join", "order", "organizer", "poll", "waitlist"]);
  });
});

describe("velocity: holds and releases faster than a person", () => {
  it(`a fan holding and releasing over ${VELOCITY_LIMIT} times a minute is slowed down; another fan is not`, async () => {
    const { showId } = await createShow();
    const churn = async (auth: Record<string, string>) => {
      const held = await api(`/v1/shows/${showId}/holds`, {
        method: "POST",
        headers: { ...auth, "idempotency-key": crypto.randomUUID() },
        json: { seat_ids: ["A-1-1"] },
      });
      if (held.status !== 201) return held;
      const { hold_id } = (await held.json()) as { hold_id: string };
      return api(`/v1/holds/${hold_id}`, { method: "DELETE", headers: auth });
    };
    const bot = bearer(await fanToken(uniqueFan()));
    const refused = await firstRefusal(2 * VELOCITY_LIMIT + 1, () => churn(bot));
    expect(refused, "the churning fan was never slowed down").not.toBeNull();
    // Each cycle is two operations: the limit is reached after about limit / 2 cycles.
    expect(refused!.after).toBeGreaterThanOrEqual(VELOCITY_LIMIT / 2 - 1);
    const body = await expectRateLimited(refused!.response, String(limiterPeriodS.VELOCITY_LIMITER));
    expect(body).toMatchObject({ limit_group: "hold and release", limit_scope: "fan" });

    // The seat is free again (the last release went through or the hold was refused), and a
    // person at a person's pace gets it.
    const person = bearer(await fanToken(uniqueFan()));
    const held = await api(`/v1/shows/${showId}/holds`, {
      method: "POST",
      headers: { ...person, "idempotency-key": crypto.randomUUID() },
      json: { seat_ids: ["A-1-2"] },
    });
    await json(held, 201);
  });
});

it("the limits the tests count on are the ones the Worker is bound to", async () => {
  // A limiter answers per key; the same key past its limit in one window is refused.
  const key = `probe:${crypto.randomUUID()}`;
  let passed = 0;
  for (let i = 0; i < 2 * VELOCITY_LIMIT + 1; i++) if ((await env.VELOCITY_LIMITER.limit({ key })).success) passed++;
  expect(passed).toBeGreaterThanOrEqual(VELOCITY_LIMIT);
  expect(passed).toBeLessThanOrEqual(2 * VELOCITY_LIMIT);
});
