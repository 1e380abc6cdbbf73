import { createShow, expect, fanId, signInThroughForm, test } from "./fixtures";

// With a Turnstile site key configured, the waiting-room join carries a Turnstile token. Offline,
// /v1/config is answered with Cloudflare's always-pass test site key and challenges.cloudflare.com
// with a fake widget that passes at once; the test reads the token off the join request.

const FAKE_TURNSTILE_JS = `
window.turnstile = {
  render: function (container, options) {
    window.__turnstileSiteKey = options.sitekey;
    container.textContent = "Turnstile (test stub)";
    setTimeout(function () { options.callback("XXXX.DUMMY.TOKEN.XXXX"); }, 50);
    return "widget-1";
  },
  remove: function () {},
};`;

test("the waiting-room join sends a Turnstile token when a site key is configured", async ({ page }) => {
  await page.route("**/v1/config", (route) =>
    route.fulfill({
      json: {
        stripe_publishable_key: null,
        turnstile_site_key: "1x00000000000000000000AA",
        oidc: null,
        dev_sign_in: true,
        test_payments: true,
      },
    }),
  );
  const scripts: string[] = [];
  await page.route("https://challenges.cloudflare.com/**", (route) => {
    scripts.push(route.request().url());
    return route.fulfill({ contentType: "text/javascript", body: FAKE_TURNSTILE_JS });
  });
  const show = await createShow({ room: { admit_per_minute: 1 } });
  const join = page.waitForRequest(
    (request) => request.method() === "POST" && request.url().endsWith("/v1/waiting-room/sessions"),
  );
  await page.goto(`/shows/${show.showId}`);
  await signInThroughForm(page, fanId("turnstile"));
  const body = (await join).postDataJSON() as { show_id: string; turnstile_token?: string };
  expect(body).toEqual({ show_id: show.showId, turnstile_token: "XXXX.DUMMY.TOKEN.XXXX" });
  expect(scripts).toEqual(["https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit"]);
});
