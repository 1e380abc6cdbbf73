import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fanHash, isolateMetrics, logEvent, MemoryMetrics, percentile, recordMetric } from "../src/lib/observe";
import { sloReport } from "../src/lib/slo";
import { createShow, json } from "./fixtures";
import { api, bearer, fanToken } from "./helpers";
import { confirmPayment, type Fan, holdSeats, type OrderCreated, placeOrder, standin } from "./payments-helpers";

type Line = Record<string, string | number | boolean>;

/** Every JSON line the Worker writes to the console while `work` runs. */
async function captureLogs(work: () => Promise<void>): Promise<Line[]> {
  const lines: Line[] = [];
  const capture = (...args: unknown[]) => {
    if (typeof args[0] !== "string" || !args[0].startsWith("{")) return;
    try {
      lines.push(JSON.parse(args[0]) as Line);
    } catch {}
  };
  const spies = (["log", "warn", "error"] as const).map((level) =>
    vi.spyOn(console, level).mockImplementation(capture),
  );
  try {
    await work();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return lines;
}

/** A fan with an email in the token: the log lines must carry neither. */
async function fanWithEmail(): Promise<Fan & { token: string }> {
  const id = `fan_obs_${crypto.randomUUID().slice(0, 8)}`;
  const token = await fanToken(id, { claims: { email: `${id}@example.com` } });
  return { id, auth: bearer(token), token };
}

describe("structured logs", () => {
  it("a hold writes one request line and one event line that share the request id and carry its fields", async () => {
    const { showId } = await createShow();
    const fan = await fanWithEmail();
    let requestId = "";
    const lines = await captureLogs(async () => {
      const response = await api(`/v1/shows/${showId}/holds`, {
        method: "POST",
        headers: { ...fan.auth, "idempotency-key": crypto.randomUUID() },
        json: { seat_ids: ["A-1-1", "A-1-2"] },
      });
      expect(response.status).toBe(201);
      requestId = response.headers.get("request-id")!;
    });
    const mine = lines.filter((line) => line.request_id === requestId);
    const request = mine.find((line) => line.event === "request");
    expect(request).toMatchObject({
      route: "/v1/shows/:show_id/holds",
      method: "POST",
      show_id: showId,
      status: 201,
      outcome: "held",
      fan: fanHash(fan.id, "test-queue-ticket-secret-0123456789abcdef"),
    });
    expect(request!.duration_ms).toEqual(expect.any(Number));
    expect(mine.find((line) => line.event === "hold.placed")).toMatchObject({ show_id: showId, fan: request!.fan });

    // Never the token, the email or the raw fan id.
    const text = JSON.stringify(mine);
    for (const secret of [fan.token, `${fan.id}@example.com`, `"${fan.id}"`, "authorization"]) {
      expect(text).not.toContain(secret);
    }
  });

  it("a refused hold is logged as refused with the problem code", async () => {
    const { showId } = await createShow();
    const first = await fanWithEmail();
    await holdSeats(showId, first, ["B-1-1"]);
    const second = await fanWithEmail();
    const lines = await captureLogs(async () => {
      const response = await api(`/v1/shows/${showId}/holds`, {
        method: "POST",
        headers: { ...second.auth, "idempotency-key": crypto.randomUUID() },
        json: { seat_ids: ["B-1-1"] },
      });
      expect(response.status).toBe(409);
    });
    expect(lines.find((line) => line.event === "hold.refused")).toMatchObject({
      show_id: showId,
      code: "seats_unavailable",
    });
    expect(lines.find((line) => line.event === "request")).toMatchObject({ status: 409, outcome: "refused" });
  });

  it("a purchase logs the order, the finalize outcome and the applied webhook", async () => {
    const { showId } = await createShow();
    const fan = await fanWithEmail();
    const hold = await holdSeats(showId, fan, ["A-2-1"]);
    const lines = await captureLogs(async () => {
      const order = await json<OrderCreated>(await placeOrder(fan, hold.hold_id), 201);
      await json(await confirmPayment(fan, order.payment.payment_id, { payment_method: "pm_card_visa" }), 200);
      const event = await standin.eventFor("payment_intent.succeeded", (await orderIntent(order.order_id))!);
      expect((await standin.deliver(event.id)).status).toBe(200);
    });
    expect(lines.find((line) => line.event === "order.created")).toMatchObject({ show_id: showId, total_cents: 5000 });
    expect(lines.find((line) => line.event === "order.finalized")).toMatchObject({ outcome: "confirmed" });
    const confirm = lines.find((line) => line.event === "request" && line.route === "/v1/payments/:payment_id/confirm");
    // The payment's show is known only once its order is loaded: the handler adds it.
    expect(confirm).toMatchObject({ show_id: showId, status: 200, outcome: "ok" });
    expect(lines.find((line) => line.event === "webhook.applied")).toMatchObject({
      type: "payment_intent.succeeded",
      lag_ms: expect.any(Number),
    });
    expect(JSON.stringify(lines)).not.toMatch(/pm_card_visa|client_secret|@example\.com/);
  });

  it("keys that name secrets are dropped from any event, whatever a caller passes", async () => {
    const lines = await captureLogs(async () => {
      logEvent("probe", { card_number: "4242", email: "a@b.c", fan_id: "fan_x", access_token: "t", kept: 1 });
    });
    expect(lines).toEqual([{ event: "probe", fan: fanHash("fan_x"), kept: 1 }]);
  });
});

async function orderIntent(orderId: string) {
  const { intentOf } = await import("./payments-helpers");
  return intentOf(orderId);
}

describe("SLO metrics", () => {
  beforeEach(() => isolateMetrics.clear());
  afterEach(() => isolateMetrics.clear());

  it("the organizer's SLO endpoint reflects a known sequence of holds and a purchase", async () => {
    const { showId, organizer } = await createShow();
    isolateMetrics.clear(); // the publish was a request of this show too
    const fans = await Promise.all([fanWithEmail(), fanWithEmail(), fanWithEmail()]);
    await holdSeats(showId, fans[0]!, ["A-1-1"]);
    await holdSeats(showId, fans[1]!, ["A-1-2"]);
    const paid = await holdSeats(showId, fans[2]!, ["A-1-3"]);
    // Two refusals: a seat someone holds, and one that does not exist.
    for (const seat of ["A-1-1", "Z-9-9"]) {
      const response = await api(`/v1/shows/${showId}/holds`, {
        method: "POST",
        headers: { ...fans[2]!.auth, "idempotency-key": crypto.randomUUID() },
        json: { seat_ids: [seat] },
      });
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
    }
    const order = await json<OrderCreated>(await placeOrder(fans[2]!, paid.hold_id), 201);
    await json(await confirmPayment(fans[2]!, order.payment.payment_id, { payment_method: "pm_card_visa" }), 200);

    const report = await json<ReturnType<typeof sloReport>>(
      await api(`/v1/admin/shows/${showId}/slo?minutes=5`, { headers: bearer(organizer.key) }),
      200,
    );
    expect(report.hold).toMatchObject({ count: 5, held: 3, refused: 2, errors: 0, availability: 1, status: "ok" });
    expect(report.hold.p50_ms).toEqual(expect.any(Number));
    expect(report.hold.p95_ms).toBeGreaterThanOrEqual(report.hold.p50_ms!);
    expect(report.confirm).toMatchObject({ count: 2, ok: 2, errors: 0 });
    expect(report.server_errors).toMatchObject({ requests: 7, errors: 0, rate: 0, status: "ok" });
    expect(report.admission.status).toBe("no_data");
    // Another organizer's show is not found.
    const other = await createShow();
    expect((await api(`/v1/admin/shows/${showId}/slo`, { headers: bearer(other.organizer.key) })).status).toBe(404);
  });

  it("targets: slow confirms, server errors and a slow room breach; no points is no data", () => {
    const metrics = new MemoryMetrics();
    const now = Date.now();
    const show = "shw_slo_unit";
    const at = now - 1000;
    for (let i = 0; i < 20; i++) {
      metrics.record({ kind: "hold", showId: show, route: "h", outcome: "held", status: 201, ms: 50 + i, at });
      metrics.record({
        kind: "confirm",
        showId: show,
        route: "c",
        outcome: "ok",
        status: 200,
        ms: i < 18 ? 300 : 1500,
        at,
      });
    }
    metrics.record({ kind: "hold", showId: show, route: "h", outcome: "error", status: 503, ms: 10, at });
    // Another show's points and old points are not counted.
    metrics.record({ kind: "hold", showId: "shw_other", route: "h", outcome: "error", status: 500, ms: 10, at });
    metrics.record({
      kind: "hold",
      showId: show,
      route: "h",
      outcome: "error",
      status: 500,
      ms: 10,
      at: now - 6 * 60_000,
    });

    const room = { admit_per_minute: 100, observed_admit_per_minute: 40, queued: 500, paused: false };
    const report = sloReport(show, 5, room, metrics, now);
    expect(report.hold).toMatchObject({ count: 21, held: 20, errors: 1, p50_ms: 59, p95_ms: 68, status: "ok" });
    expect(report.hold.availability).toBeCloseTo(20 / 21, 4);
    expect(report.confirm).toMatchObject({ count: 20, p95_ms: 1500, status: "breached" });
    expect(report.server_errors).toMatchObject({ requests: 41, errors: 1, status: "breached" });
    expect(report.admission).toMatchObject({ configured_per_minute: 100, observed_per_minute: 40, status: "breached" });
    expect(sloReport(show, 5, { ...room, paused: true }, metrics, now).admission.status).toBe("no_data");
    expect(sloReport("shw_none", 5, null, metrics, now)).toMatchObject({
      hold: { count: 0, status: "no_data", p95_ms: null },
      confirm: { status: "no_data" },
      server_errors: { status: "no_data" },
    });
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([], 95)).toBeNull();
  });

  it("the in-memory window forgets points past its horizon and beyond its size", () => {
    const metrics = new MemoryMetrics(60_000, 3);
    const now = Date.now();
    for (let i = 0; i < 5; i++)
      metrics.record({ kind: "hold", showId: "s", route: "r", outcome: "held", status: 201, ms: i, at: now });
    expect(metrics.select("hold", "s", 60_000, now).map((p) => p.ms)).toEqual([2, 3, 4]);
    metrics.record({ kind: "hold", showId: "s", route: "r", outcome: "held", status: 201, ms: 9, at: now + 61_000 });
    expect(metrics.select("hold", "s", 120_000, now + 61_000).map((p) => p.ms)).toEqual([9]);
  });

  it("Analytics Engine gets the layout the SQL in docs/operations.md reads, and a failing write fails nothing", () => {
    const written: AnalyticsEngineDataPoint[] = [];
    const dataset = { writeDataPoint: (point?: AnalyticsEngineDataPoint) => written.push(point!) };
    recordMetric(
      { METRICS: dataset },
      { kind: "hold", showId: "shw_ae", route: "/r", outcome: "held", status: 201, ms: 42 },
    );
    expect(written).toEqual([{ indexes: ["shw_ae"], blobs: ["hold", "shw_ae", "/r", "held"], doubles: [42, 201] }]);
    const broken = {
      writeDataPoint: () => {
        throw new Error("AE down");
      },
    };
    expect(() =>
      recordMetric({ METRICS: broken }, { kind: "request", route: "/r", outcome: "ok", status: 200, ms: 1 }),
    ).not.toThrow();
    expect(isolateMetrics.select("hold", "shw_ae", 60_000)).toHaveLength(1);
  });
});
