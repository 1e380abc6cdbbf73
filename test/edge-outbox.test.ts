import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { createStripe, stripeCrypto } from "../src/payments/stripe";
import { base, problem } from "./helpers";

/** Calls the Worker with an execution context that records the background work it is given. */
async function webhook(body: string, signature: string) {
  const background: Promise<unknown>[] = [];
  const ctx = {
    waitUntil: (promise: Promise<unknown>) => void background.push(promise),
    passThroughOnException: () => {},
    props: {},
  } as unknown as ExecutionContext;
  const response = await worker.fetch(
    new Request(`${base}/v1/webhooks/stripe`, {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": signature },
      body,
    }) as Request<unknown, IncomingRequestCfProperties>,
    env,
    ctx,
  );
  await Promise.allSettled(background);
  return { response, background };
}

const event = (id: string) =>
  JSON.stringify({ id, object: "event", type: "customer.created", data: { object: { id: "cus_1" } } });

describe("a refused request does no work", () => {
  it("a webhook with a bad signature is refused and starts no outbox publishing", async () => {
    const { response, background } = await webhook(event(`evt_${crypto.randomUUID()}`), "t=1,v1=deadbeef");
    expect(response.status).toBe(400);
    expect((await problem(response)).code).toBe("invalid_signature");
    expect(background).toHaveLength(0);
  });

  it("a correctly signed webhook does publish the outbox afterwards", async () => {
    const payload = event(`evt_${crypto.randomUUID()}`);
    const signature = await createStripe(env).webhooks.generateTestHeaderStringAsync({
      payload,
      secret: env.STRIPE_WEBHOOK_SECRET,
      cryptoProvider: stripeCrypto,
    });
    const { response, background } = await webhook(payload, signature);
    expect(response.status).toBe(200);
    expect(background).toHaveLength(1);
  });
});
