import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { createShow, json } from "./fixtures";
import { api, base, bearer, fanToken, problem, uniqueFan } from "./helpers";

// Cloudflare's documented test secrets (https://developers.cloudflare.com/turnstile/troubleshooting/testing/).
const PASS = "1x0000000000000000000000000000000AA";
const FAIL = "2x0000000000000000000000000000000AA";
const SPENT = "3x0000000000000000000000000000000AA";
const DUMMY_TOKEN = "XXXX.DUMMY.TOKEN.XXXX";

const standin = new URL(env.TURNSTILE_VERIFY_URL!).origin;

/** The Worker as deployed with Turnstile configured: the same fetch handler, other settings. */
async function joinWith(settings: Partial<Env>, body: object, headers: Record<string, string>) {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`${base}/v1/waiting-room/sessions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    }),
    { ...env, ...settings },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

async function roomShow() {
  const show = await createShow();
  await json(
    await api(`/v1/admin/shows/${show.showId}/waiting-room`, {
      method: "PATCH",
      headers: bearer(show.organizer.key),
      json: { enabled: true, admit_per_minute: 1000, max_active: 100 },
    }),
    200,
  );
  return show;
}

const fan = async () => bearer(await fanToken(uniqueFan()));

describe("Turnstile in front of the waiting room", () => {
  it("is off while TURNSTILE_SECRET_KEY is unset: a join needs no token", async () => {
    const { showId } = await roomShow();
    const response = await joinWith({ TURNSTILE_SECRET_KEY: undefined }, { show_id: showId }, await fan());
    expect(response.status).toBe(201);
  });

  it("refuses a join without a token, 403 challenge_failed, before the queue sees it", async () => {
    const { showId } = await roomShow();
    const who = await fan();
    const response = await joinWith({ TURNSTILE_SECRET_KEY: PASS }, { show_id: showId }, who);
    expect(response.status).toBe(403);
    expect((await problem(response)).code).toBe("challenge_failed");
    // The refused join took no place: the same fan's next join is a new one (201, not 200).
    expect((await joinWith({ TURNSTILE_SECRET_KEY: undefined }, { show_id: showId }, who)).status).toBe(201);
  });

  it("lets in a fan whose token passes (the always-pass secret), and sends remoteip and an idempotency key", async () => {
    const { showId } = await roomShow();
    const response = await joinWith(
      { TURNSTILE_SECRET_KEY: PASS },
      { show_id: showId, turnstile_token: DUMMY_TOKEN },
      { ...(await fan()), "cf-connecting-ip": "203.0.113.77" },
    );
    expect(response.status).toBe(201);
    const asked = (await (await fetch(`${standin}/_standin/requests`)).json()) as Record<string, string>[];
    expect(asked.find((request) => request.remoteip === "203.0.113.77")).toMatchObject({
      secret: PASS,
      response: DUMMY_TOKEN,
      idempotency_key: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  });

  it.each([
    ["always fails", FAIL, "invalid-input-response"],
    ["already spent", SPENT, "timeout-or-duplicate"],
  ])("refuses a token siteverify refuses (%s): 403 challenge_failed", async (_name, secret, errorCode) => {
    const { showId } = await roomShow();
    const response = await joinWith(
      { TURNSTILE_SECRET_KEY: secret },
      { show_id: showId, turnstile_token: DUMMY_TOKEN },
      await fan(),
    );
    expect(response.status).toBe(403);
    const body = (await problem(response)) as unknown as { code: string; turnstile_error_codes: string[] };
    expect(body.code).toBe("challenge_failed");
    expect(body.turnstile_error_codes).toEqual([errorCode]);
  });

  it("takes a production secret's token once: the same token again is refused", async () => {
    const { showId } = await roomShow();
    const settings = { TURNSTILE_SECRET_KEY: "0x4AAAAAAAonsale-production-like-secret" };
    const token = `token-${crypto.randomUUID()}`;
    expect((await joinWith(settings, { show_id: showId, turnstile_token: token }, await fan())).status).toBe(201);
    const replay = await joinWith(settings, { show_id: showId, turnstile_token: token }, await fan());
    expect(replay.status).toBe(403);
    expect((await problem(replay)).code).toBe("challenge_failed");
    // A production secret never accepts the test widgets' dummy token.
    const dummy = await joinWith(settings, { show_id: showId, turnstile_token: DUMMY_TOKEN }, await fan());
    expect(dummy.status).toBe(403);
  });

  it("a siteverify outage is 503 dependency_unavailable, not a free pass: unreachable", async () => {
    const { showId } = await roomShow();
    const response = await joinWith(
      { TURNSTILE_SECRET_KEY: PASS, TURNSTILE_VERIFY_URL: "http://127.0.0.1:9/turnstile/v0/siteverify" },
      { show_id: showId, turnstile_token: DUMMY_TOKEN },
      await fan(),
    );
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBeTruthy();
    expect((await problem(response)).code).toBe("dependency_unavailable");
  });

  it("a siteverify that never answers is cut off by the timeout: 503 within a few seconds", async () => {
    const { showId } = await roomShow();
    const started = Date.now();
    const response = await joinWith(
      { TURNSTILE_SECRET_KEY: PASS, TURNSTILE_VERIFY_URL: `${standin}/_standin/stall` },
      { show_id: showId, turnstile_token: DUMMY_TOKEN },
      await fan(),
    );
    expect(response.status).toBe(503);
    expect((await problem(response)).code).toBe("dependency_unavailable");
    expect(Date.now() - started).toBeLessThan(6_000);
  });

  it("documents the token and the new refusals in OpenAPI", async () => {
    const doc = (await (await api("/openapi.json")).json()) as {
      paths: Record<string, { post?: { responses: Record<string, unknown> } }>;
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    };
    expect(Object.keys(doc.paths["/v1/waiting-room/sessions"]!.post!.responses)).toEqual(
      expect.arrayContaining(["403", "429", "503"]),
    );
    expect(doc.components.schemas.JoinWaitingRoom!.properties).toHaveProperty("turnstile_token");
  });
});
