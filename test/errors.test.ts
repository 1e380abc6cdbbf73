import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { api, base, fanToken, problem } from "./helpers";

describe("one error path: problem+json with a stable code", () => {
  it("an unknown route: 404 not_found", async () => {
    const response = await api("/v1/nothing-here");
    expect(response.status).toBe(404);
    const body = await problem(response);
    expect(body).toMatchObject({ status: 404, code: "not_found", title: "Not Found" });
    expect(response.headers.get("request-id")).toBeTruthy();
  });

  it("malformed JSON: 400 malformed_json", async () => {
    const response = await api("/v1/dev/tokens", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"fan_id": "fan_1"',
    });
    expect(response.status).toBe(400);
    expect((await problem(response)).code).toBe("malformed_json");
  });

  it("a body that is not JSON: 415 unsupported_media_type", async () => {
    const response = await api("/v1/dev/tokens", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "fan_id=fan_1",
    });
    expect(response.status).toBe(415);
    expect((await problem(response)).code).toBe("unsupported_media_type");
  });

  it("a NUL character in text that reaches Postgres: 400 invalid_text, not a 500", async () => {
    const response = await api("/v1/events?q=a%00b");
    expect(response.status).toBe(400);
    expect((await problem(response)).code).toBe("invalid_text");
  });

  it("wrong types and unknown fields: 422 validation_failed listing each problem by path", async () => {
    const response = await api("/v1/dev/tokens", { method: "POST", json: { fan_id: 42, admin: true } });
    expect(response.status).toBe(422);
    const body = await problem(response);
    expect(body.code).toBe("validation_failed");
    expect(body.errors?.map((e) => e.path).sort()).toEqual(["(root)", "fan_id"]);
  });
});

describe("development routes", () => {
  it("POST /v1/dev/tokens mints a fan token the API accepts", async () => {
    const minted = await api("/v1/dev/tokens", { method: "POST", json: { fan_id: "fan_dev" } });
    expect(minted.status).toBe(201);
    const { token } = (await minted.json()) as { token: string };
    const me = await api("/v1/me", { headers: { authorization: `Bearer ${token}` } });
    expect(await me.json()).toEqual({ fan_id: "fan_dev" });
  });

  it("do not exist outside development: 404", async () => {
    const ctx = createExecutionContext();
    const response = await worker.fetch(
      new Request(`${base}/v1/dev/tokens`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ fan_id: "fan_1" }),
      }),
      { ...env, ENVIRONMENT: "production" },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(404);
    expect((await problem(response)).code).toBe("not_found");
  });
});

describe("the contract, generated from the zod schemas", () => {
  it("GET /openapi.json is an OpenAPI 3.1 document with the routes", async () => {
    const response = await api("/openapi.json");
    expect(response.status).toBe(200);
    const doc = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/healthz", "/v1/me", "/v1/dev/tokens"]));
  });

  it("documents every header a route validates, once per route", async () => {
    // Headers are validated outside @hono/zod-openapi's validator (src/app.ts); the document
    // must still carry them, from the same schemas.
    const doc = (await (await api("/openapi.json")).json()) as {
      paths: Record<string, Record<string, { parameters?: { name: string; in: string; required?: boolean }[] }>>;
    };
    const headers = (path: string, method: string) =>
      (doc.paths[path]?.[method]?.parameters ?? []).filter((p) => p.in === "header").map((p) => [p.name, p.required]);
    expect(headers("/v1/waiting-room/sessions/{session_id}", "get")).toEqual([["waiting-room-ticket", true]]);
    expect(headers("/v1/shows/{show_id}/holds", "post")).toEqual([
      ["idempotency-key", true],
      ["admission-token", false],
    ]);
    expect(headers("/v1/orders", "post")).toEqual([["idempotency-key", true]]);
  });

  it("a route's headers are checked by its schema: missing or too long is 400 invalid_header", async () => {
    const path = "/v1/waiting-room/sessions/wrs_aaaaaaaaaaaaaaaaaaaa";
    const auth = { authorization: `Bearer ${await fanToken("fan_header_check")}` };
    for (const headers of [auth, { ...auth, "waiting-room-ticket": "x".repeat(2049) }]) {
      const response = await api(path, { headers });
      expect(response.status).toBe(400);
      const body = await problem(response);
      expect(body.code).toBe("invalid_header");
      expect(JSON.stringify(body)).toContain("waiting-room-ticket");
    }
  });

  it("GET /docs serves the docs UI pointing at the document", async () => {
    const response = await api("/docs");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/text\/html/);
    expect(await response.text()).toContain("/openapi.json");
  });
});
