import { createShow, expect, expectAccessible, fanId, pickSeat, screenshot, signInThroughForm, test } from "./fixtures";

// With a Stripe publishable key configured, the app loads Stripe.js from js.stripe.com, mounts
// the Payment Element with the order's client_secret and confirms with
// stripe.confirmPayment({ redirect: "if_required" }); then it asks the API to refresh the
// payment. Offline, /v1/config is answered with a key and js.stripe.com with a small fake of
// Stripe.js whose confirmPayment declines once, then settles the PaymentIntent at the Stripe
// stand-in (as Stripe's servers would), so the API's refresh finds it paid.

const FAKE_STRIPE_JS = `
window.Stripe = function (publishableKey) {
  window.__stripeKey = publishableKey;
  var attempts = 0;
  return {
    elements: function (options) {
      window.__stripeClientSecret = options.clientSecret;
      return {
        create: function () {
          return {
            mount: function (el) {
              el.innerHTML = '<label for="fake-card">Card number (Stripe test stub)</label><input id="fake-card" value="4242 4242 4242 4242">';
            },
            destroy: function () {},
          };
        },
        submit: function () { return Promise.resolve({}); },
      };
    },
    confirmPayment: function (options) {
      window.__stripeRedirect = options.redirect;
      attempts++;
      if (attempts === 1)
        return Promise.resolve({ error: { type: "card_error", code: "card_declined", decline_code: "insufficient_funds", message: "Your card has insufficient funds." } });
      return window.__settleAtStripe(window.__stripeClientSecret).then(function () {
        return { paymentIntent: { id: window.__stripeClientSecret.split("_secret_")[0], status: "succeeded" } };
      });
    },
  };
};`;

test("with a publishable key, the Payment Element takes the card; a decline is retried in it", async ({
  page,
}, info) => {
  const standin = process.env.ONSALE_E2E_STRIPE_URL;
  test.skip(!standin, "needs the stack's Stripe stand-in (npm run test:e2e starts it)");
  const stripeLoads: string[] = [];
  await page.route("**/v1/config", (route) =>
    route.fulfill({
      json: {
        stripe_publishable_key: "pk_test_e2e_onsale",
        turnstile_site_key: null,
        oidc: null,
        dev_sign_in: true,
        test_payments: true,
      },
    }),
  );
  await page.route("https://js.stripe.com/**", (route) => {
    stripeLoads.push(route.request().url());
    return route.fulfill({ contentType: "text/javascript", body: FAKE_STRIPE_JS });
  });
  await page.exposeFunction("__settleAtStripe", async (clientSecret: string) => {
    const intentId = clientSecret.split("_secret_")[0];
    const response = await fetch(`${standin}/_standin/payment_intents/${intentId}/succeed`, { method: "POST" });
    if (!response.ok) throw new Error(`stand-in refused: ${response.status}`);
  });

  const show = await createShow();
  await page.goto(`/shows/${show.showId}`);
  await signInThroughForm(page, fanId("element"));
  await page.getByRole("button", { name: /^Balcony 201 / }).click();
  await pickSeat(page, "B201-4-4");
  await page.getByRole("button", { name: "Hold 1 seat" }).click();
  expect(stripeLoads).toEqual([]);
  await page.getByRole("button", { name: "Continue to payment" }).click();

  await expect(page.getByLabel("Card number (Stripe test stub)")).toBeVisible();
  await expect(page.getByText("Test card (local development")).toHaveCount(0);
  expect(stripeLoads).toEqual(["https://js.stripe.com/v3/"]);
  expect(await page.evaluate(() => (window as unknown as { __stripeKey: string }).__stripeKey)).toBe(
    "pk_test_e2e_onsale",
  );
  expect(
    await page.evaluate(() => (window as unknown as { __stripeClientSecret: string }).__stripeClientSecret),
  ).toMatch(/^pi_.+_secret_/);
  await expectAccessible(page, "payment element");
  await screenshot(page, info, "payment-element");

  await page.getByRole("button", { name: "Pay €49" }).click();
  await expect(page.locator("main").getByRole("alert")).toContainText("Your card was declined (insufficient funds)");
  await page.getByRole("button", { name: "Pay €49" }).click();
  await expect(page.getByRole("heading", { name: "You are going! Your tickets are ready." })).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { __stripeRedirect: string }).__stripeRedirect)).toBe(
    "if_required",
  );
});
