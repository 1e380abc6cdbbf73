import { createShow, expect, expectAccessible, fanId, pickSeat, screenshot, signInThroughForm, test } from "./fixtures";

test("a declined card says so, and trying again holds the same seats and pays", async ({ page }, info) => {
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
  await expect(alert).toContainText("The seats were released when the payment failed");
  await expectAccessible(page, "declined payment");
  await screenshot(page, info, "declined");

  await page.getByRole("button", { name: "Try again" }).click();
  await expect(page.getByText("Pay within")).toBeVisible();
  await expect(page.getByText("Section Lower 101, row 5, seat 4, €89")).toBeVisible();
  await page.getByLabel("Visa ending 4242 (approved)").check();
  await page.getByRole("button", { name: "Pay €89" }).click();
  await expect(page.getByRole("heading", { name: "You are going! Your tickets are ready." })).toBeVisible();
  await expect(page.locator("img.qr")).toHaveCount(1);
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
