import { createShow, expect, expectAccessible, fanId, pickSeat, screenshot, signInThroughForm, test } from "./fixtures";

test("a declined card says so, keeps the seats held, and another card pays the same order", async ({ page }, info) => {
  const show = await createShow();
  await page.goto(`/shows/${show.showId}`);
  await signInThroughForm(page, fanId("declined"));

  await page.getByRole("button", { name: /^Lower 101 / }).click();
  await pickSeat(page, "L101-5-4");
  await page.getByRole("button", { name: "Hold 1 seat" }).click();
  await page.getByRole("button", { name: "Continue to payment" }).click();
  await page.getByLabel("Visa ending 0002 (declined)").check();
  await page.getByRole("button", { name: "Pay €89" }).click();

  const alert = page.locator("main").getByRole("alert");
  await expect(alert).toContainText("Your card was declined (the bank said no). You have not been charged.");
  await expect(alert).toContainText("Your seats are still held for you until the countdown ends");
  // The countdown keeps running on the same order: no new hold, no new order.
  await expect(page.getByText("Pay within")).toBeVisible();
  let newHoldsOrOrders = 0;
  page.on("request", (request) => {
    if (request.method() === "POST" && /\/v1\/(orders|shows\/[^/]+\/holds)$/.test(new URL(request.url()).pathname))
      newHoldsOrOrders++;
  });
  await expectAccessible(page, "declined payment");
  await screenshot(page, info, "declined");

  await page.getByLabel("Visa ending 4242 (approved)").check();
  await page.getByRole("button", { name: "Pay €89 with this card" }).click();
  await expect(page.getByRole("heading", { name: "You are going! Your tickets are ready." })).toBeVisible();
  await expect(page.locator("img.qr")).toHaveCount(1);
  expect(newHoldsOrOrders).toBe(0);
});

test("3-D Secure: the test card asks for a challenge, and confirming it pays", async ({ page }, info) => {
  const show = await createShow();
  await page.goto(`/shows/${show.showId}`);
  await signInThroughForm(page, fanId("3ds"));
  await page.getByRole("button", { name: /^Balcony 202 / }).click();
  await pickSeat(page, "B202-3-3");
  await page.getByRole("button", { name: "Hold 1 seat" }).click();
  await page.getByRole("button", { name: "Continue to payment" }).click();
  await page.getByLabel("Visa ending 3184 (asks for 3-D Secure)").check();
  await page.getByRole("button", { name: "Pay €49" }).click();

  await expect(page.getByRole("heading", { name: "Your bank asks you to confirm this payment" })).toBeVisible();
  await expectAccessible(page, "3-D Secure challenge");
  await screenshot(page, info, "three-d-secure");
  await page.getByRole("button", { name: "Confirm the payment" }).click();
  await expect(page.getByRole("heading", { name: "You are going! Your tickets are ready." })).toBeVisible();
});

test("a hold that expires in front of the fan: the countdown ends and the seats are released", async ({
  page,
}, info) => {
  test.setTimeout(180_000);
  // 60 s is the shortest hold an organizer may set.
  const show = await createShow({ holdTtlS: 60 });
  await page.goto(`/shows/${show.showId}`);
  await signInThroughForm(page, fanId("expiry"));
  await page.getByRole("button", { name: /^Balcony 201 / }).click();
  await pickSeat(page, "B201-2-2");
  await pickSeat(page, "B201-2-3");
  await page.getByRole("button", { name: "Hold 2 seats" }).click();

  await expect(page.getByText("Your seats are held for")).toBeVisible();
  await expect(page.getByRole("timer")).toHaveText(/^(0|1):\d\d$/);
  await expect(page.getByRole("timer")).toHaveText(/^0:[0-4]\d$/, { timeout: 30_000 });
  await expect(page.locator(".countdown-urgent")).toBeVisible();
  await expect(page.locator("main").getByRole("alert")).toHaveText(
    "Time is up: your seats were released and are back on sale.",
    { timeout: 75_000 },
  );
  await expectAccessible(page, "hold expired");
  await screenshot(page, info, "hold-expired");

  // The seats really went back: choosing again shows them available to pick.
  await page.getByRole("button", { name: "Choose seats again" }).click();
  await page.getByRole("button", { name: /^Balcony 201 400 left/ }).click({ timeout: 20_000 });
  await expect(page.locator('[data-seat="B201-2-2"]')).toHaveClass(/seat-pickable/);
});
