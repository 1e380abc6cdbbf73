import type { Locator, Page } from "@playwright/test";
import { createShow, expect, expectAccessible, fanId, screenshot, test } from "./fixtures";

/** Presses Tab until `target` has focus: how a keyboard user gets there. */
async function tabTo(page: Page, target: Locator, max = 60) {
  for (let i = 0; i < max; i++) {
    if (await target.evaluate((el) => el === document.activeElement)) return;
    await page.keyboard.press("Tab");
  }
  throw new Error(`Tab never reached ${target}`);
}

test("keyboard only: sign in, walk the list section → row → seat, hold, pay", async ({ page }, info) => {
  const show = await createShow();
  await page.goto(`/shows/${show.showId}`);

  const fan = fanId("keyboard");
  await tabTo(page, page.getByLabel("Fan id"));
  await page.keyboard.type(fan);
  await page.keyboard.press("Enter");
  await expect(page.getByText(`Signed in as ${fan}`)).toBeVisible();

  const listButton = page.getByRole("button", { name: "List", exact: true });
  await tabTo(page, listButton);
  await page.keyboard.press("Enter");
  await expect(listButton).toHaveAttribute("aria-pressed", "true");

  const section = page.getByLabel("Section", { exact: true }).first();
  await tabTo(page, section);
  // On a closed <select>, the arrow keys change the choice.
  await page.keyboard.press("ArrowDown");
  await expect(section).toHaveValue("FLA");
  const row = page.getByLabel("Row", { exact: true });
  await expect(row.locator("option")).toHaveCount(21);
  await tabTo(page, row);
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowDown");
  await expect(row).toHaveValue("2");
  const seat = page.getByRole("checkbox", { name: "Section Floor Left, row 2, seat 1, €145" });
  await tabTo(page, seat);
  await page.keyboard.press("Space");
  await expect(seat).toBeChecked();
  await expectAccessible(page, "list picker");
  await screenshot(page, info, "list-picker");

  await tabTo(page, page.getByRole("button", { name: "Hold 1 seat" }));
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "Checkout" })).toBeFocused();
  await tabTo(page, page.getByRole("button", { name: "Continue to payment" }));
  await page.keyboard.press("Enter");
  await tabTo(page, page.getByRole("button", { name: "Pay €145" }));
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "You are going! Your tickets are ready." })).toBeVisible();
  await tabTo(page, page.getByRole("link", { name: "See my tickets" }));
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { level: 1, name: "My tickets" })).toBeFocused();
  await expect(page.getByText("FLA · Row 2 · Seat 1")).toBeVisible();
});
