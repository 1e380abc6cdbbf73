import { createShow, expect, expectAccessible, fanId, fanToken, screenshot, stackUrl, test } from "./fixtures";

test("the organizer changes the admission rate in the console and sees the room's stats follow", async ({
  page,
}, info) => {
  // A room that admits one fan a minute, and five fans in line.
  const show = await createShow({ room: { admit_per_minute: 1 } });
  for (let i = 0; i < 5; i++) {
    const token = await fanToken(fanId(`line_${i}`));
    const joined = await fetch(`${stackUrl()}/v1/waiting-room/sessions`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ show_id: show.showId }),
    });
    expect(joined.status).toBe(201);
  }

  await page.goto("/organizer");
  await page.getByLabel("Organizer API key").fill(process.env.ONSALE_E2E_ORGANIZER_KEY!);
  await page.getByRole("button", { name: "Open the console" }).click();
  await expect(page.getByText("Signed in as")).toBeVisible();
  await page.getByLabel("Show id").fill(show.showId);
  await page.getByRole("button", { name: "Open", exact: true }).click();

  const room = page.getByTestId("room-stats");
  const stat = (label: string) => room.locator(".stat", { hasText: label }).locator(".stat-value");
  await expect(room).toContainText("target 1 per minute");
  // At one a minute, most of the line is still waiting.
  await expect
    .poll(async () => Number(await stat("In line").textContent()), { timeout: 20_000 })
    .toBeGreaterThanOrEqual(3);
  await expectAccessible(page, "organizer dashboard");
  await screenshot(page, info, "organizer-before");

  await page.getByLabel("Admit per minute").fill("600");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(room).toContainText("target 600 per minute");
  // Within seconds the line empties into admissions.
  await expect.poll(async () => Number(await stat("In line").textContent()), { timeout: 30_000 }).toBe(0);
  await expect.poll(async () => Number(await stat("Admitted in the last minute").textContent())).toBe(5);
  await expect(stat("Active checkouts")).toHaveText("5");
  await screenshot(page, info, "organizer-after");

  await page.getByRole("button", { name: "Pause admission" }).click();
  await expect(page.getByRole("button", { name: "Resume admission" })).toBeVisible();

  // The optional cap by seats left: set, kept by the API (read back after a reload), and cleared.
  const perSeat = page.getByLabel(/per seat left/);
  const applied = () =>
    page.waitForResponse((r) => r.url().endsWith("/waiting-room") && r.request().method() === "PATCH" && r.ok());
  await perSeat.fill("0.5");
  await Promise.all([applied(), page.getByRole("button", { name: "Apply" }).click()]);
  await page.reload();
  await expect(page.getByLabel(/per seat left/)).toHaveValue("0.5");
  await page.getByLabel(/per seat left/).fill("");
  await Promise.all([applied(), page.getByRole("button", { name: "Apply" }).click()]);
  await page.reload();
  await expect(page.getByLabel(/per seat left/)).toHaveValue("");
});
