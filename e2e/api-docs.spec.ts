import { expect, test } from "@playwright/test";
import { screenshot, stackUrl } from "./fixtures";

// The API docs UI is Onsale's own: Swagger UI from the pinned swagger-ui-dist in the app's
// Static Assets, so it renders with every other origin unreachable (as on a machine offline).

test("/docs renders the API reference with the network off", async ({ page }, testInfo) => {
  const origin = new URL(stackUrl()).origin;
  const elsewhere: string[] = [];
  // Everything that is not Onsale fails as it would without a network.
  await page.route(
    (url) => url.origin !== origin,
    (route) => {
      elsewhere.push(route.request().url());
      return route.abort("internetdisconnected");
    },
  );
  const response = await page.goto(`${stackUrl()}/docs`);
  expect(response?.status()).toBe(200);
  expect(response?.headers()["content-security-policy"]).toContain("script-src 'self'");
  await expect(page.getByRole("heading", { name: /Onsale API/ })).toBeVisible();
  // Operations from the generated document, grouped by tag.
  await expect(page.locator(".opblock-summary-path", { hasText: "/v1/shows/{show_id}/holds" }).first()).toBeVisible();
  await expect(page.locator(".opblock-summary-path", { hasText: "/v1/admin/shows/{show_id}/slo" })).toBeVisible();
  await screenshot(page, testInfo, "api-docs");
  expect(elsewhere).toEqual([]);
});
