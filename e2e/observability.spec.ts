import { createShow, expect, expectAccessible, fanId, fanToken, screenshot, stackUrl, test } from "./fixtures";

// Logs and traces of one purchase, read back from `wrangler dev`'s local observability store
// (the same spans and console lines Workers Logs and Traces keep in production), through the
// local explorer's read-only SQL endpoint. No browser: the API alone.

type Row = Record<string, unknown>;

async function query(sql: string, params: unknown[] = []): Promise<Row[]> {
  const response = await fetch(`${stackUrl()}/cdn-cgi/local/explorer/api/local/observability/query`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sql, params }),
  });
  const body = (await response.json()) as { success: boolean; result: { columns: string[]; rows: unknown[][] } };
  expect(body.success, JSON.stringify(body)).toBe(true);
  return body.result.rows.map((row) => Object.fromEntries(body.result.columns.map((c, i) => [c, row[i]])));
}

/** The JSON log lines Onsale wrote for one request id (each console call is a JSON array of its arguments). */
async function logLines(requestId: string): Promise<Row[]> {
  const rows = await query("SELECT trace_id, message FROM logs WHERE message LIKE ? ORDER BY ts_ms, seq", [
    `%${requestId}%`,
  ]);
  return rows.map((row) => ({
    ...JSON.parse((JSON.parse(String(row.message)) as string[])[0]!),
    _trace: row.trace_id,
  }));
}

async function call(path: string, token: string, body: unknown, key: string) {
  const response = await fetch(`${stackUrl()}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "idempotency-key": key },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as Row;
  expect(response.status, JSON.stringify(json)).toBeLessThan(300);
  return { json, requestId: response.headers.get("request-id")! };
}

test("a purchase leaves a log line per request and a trace through the Show DO, Postgres and Stripe", async () => {
  const { showId } = await createShow();
  const fan = fanId("observe");
  const token = await fanToken(fan);
  const hold = await call(`/v1/shows/${showId}/holds`, token, { section_id: "FLA", quantity: 2 }, "h1");
  const order = await call("/v1/orders", token, { hold_id: hold.json.hold_id }, "o1");
  const paymentId = (order.json.payment as { payment_id: string }).payment_id;
  const confirm = await call(`/v1/payments/${paymentId}/confirm`, token, { payment_method: "pm_card_visa" }, "p1");
  expect(confirm.json.order_status).toBe("confirmed");

  // The collector receives spans and logs in batches: wait for the confirm's request line.
  await expect
    .poll(async () => (await logLines(confirm.requestId)).some((l) => l.event === "request"), { timeout: 20_000 })
    .toBe(true);
  const lines = await logLines(confirm.requestId);
  const request = lines.find((line) => line.event === "request")!;
  expect(request).toMatchObject({
    request_id: confirm.requestId,
    route: "/v1/payments/:payment_id/confirm",
    show_id: showId,
    status: 200,
    outcome: "ok",
    fan: expect.stringMatching(/^[0-9a-f]{16}$/),
    duration_ms: expect.any(Number),
  });
  // The log line's trace id is the trace the runtime recorded the request under.
  expect(request.trace_id).toBe(request._trace);
  expect(lines.find((line) => line.event === "order.finalized")).toMatchObject({ outcome: "confirmed" });
  expect(JSON.stringify(lines)).not.toContain(token);
  expect(JSON.stringify(lines)).not.toContain(fan);

  const spans = (await query("SELECT name FROM spans WHERE trace_id = ?", [request.trace_id])).map((s) => s.name);
  expect(spans).toEqual(
    expect.arrayContaining([
      "postgres.transaction",
      "stripe POST /v1/payment_intents/pi_…/confirm",
      "order.finalize",
      "show_do.sellHold",
    ]),
  );

  // The hold's trace has its Show DO call; the hold's log line names the same trace.
  const holdLine = (await logLines(hold.requestId)).find((line) => line.event === "hold.placed")!;
  expect(holdLine).toMatchObject({ show_id: showId, hold_id: hold.json.hold_id });
  const holdSpans = (await query("SELECT name FROM spans WHERE trace_id = ?", [holdLine.trace_id])).map((s) => s.name);
  expect(holdSpans).toContain("show_do.hold");

  // The confirmation email goes through the queue: its consumer runs in a span of its own.
  await expect
    .poll(async () => (await query("SELECT count(*) AS n FROM spans WHERE name = 'queue.consume'"))[0]!.n, {
      timeout: 30_000,
    })
    .toBeGreaterThan(0);
});

test("the organizer dashboard shows the show's service levels against the SLO targets", async ({ page }, testInfo) => {
  const show = await createShow();
  const token = await fanToken(fanId("slo"));
  for (const [i, quantity] of [2, 1, 3].entries()) {
    await call(`/v1/shows/${show.showId}/holds`, token, { section_id: "B201", quantity }, `slo-${i}`);
  }
  await page.goto("/organizer");
  await page.getByLabel("Organizer API key").fill(process.env.ONSALE_E2E_ORGANIZER_KEY!);
  await page.getByRole("button", { name: "Open the console" }).click();
  await expect(page.getByText("Signed in as")).toBeVisible();
  await page.goto(`/organizer/shows/${show.showId}`);
  const slo = page.getByTestId("slo");
  const holdRow = slo.getByRole("row", { name: /Holds without a server error/ });
  await expect(holdRow).toContainText("100.0 % · 3 requests");
  await expect(holdRow).toContainText("Met");
  await expect(slo.getByRole("row", { name: /Hold latency, p95/ })).toContainText("< 1000 ms");
  // No order yet: the confirm rows say so rather than show a number.
  await expect(slo.getByRole("row", { name: /Order and confirm latency, p95/ })).toContainText("No data");
  await screenshot(page, testInfo, "organizer-slo");
  await expectAccessible(page, "organizer dashboard with service levels");
});
