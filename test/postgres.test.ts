import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { pgErrorCode, withDatabase } from "../src/db/client";
import { organizers } from "../src/db/schema";
import { newId } from "../src/lib/ids";

// These run inside workerd and reach Postgres the way the Worker does: the Neon driver's
// WebSocket Pool, through the local tunnel, to a real server.

describe("Postgres through @neondatabase/serverless + drizzle", () => {
  it("a committed transaction is visible afterwards", async () => {
    const id = newId("org");
    await withDatabase(env, (db) => db.transaction((tx) => tx.insert(organizers).values({ id, name: "Committed" })));
    const rows = await withDatabase(env, (db) => db.select().from(organizers).where(eq(organizers.id, id)));
    expect(rows.map((r) => r.name)).toEqual(["Committed"]);
  });

  it("a transaction that fails half-way leaves nothing behind", async () => {
    const first = newId("org");
    const second = newId("org");
    const failure = withDatabase(env, (db) =>
      db.transaction(async (tx) => {
        await tx.insert(organizers).values({ id: first, name: "Rolled back" });
        await tx.insert(organizers).values({ id: second, name: "Rolled back too" });
        await tx.insert(organizers).values({ id: first, name: "Duplicate primary key" });
      }),
    );
    await expect(failure).rejects.toSatisfy((error) => pgErrorCode(error) === "23505");
    const rows = await withDatabase(env, (db) =>
      db.select().from(organizers).where(sql`${organizers.id} IN (${first}, ${second})`),
    );
    expect(rows).toEqual([]);
  });
});
