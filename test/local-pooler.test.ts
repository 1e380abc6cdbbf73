import { env } from "cloudflare:workers";
import { neonConfig, type PoolClient } from "@neondatabase/serverless";
import { describe, expect, it } from "vitest";
import { openPool } from "../src/db/client";

// The local tunnel lends Postgres backends per transaction across Worker requests, as Neon's
// pooled endpoint does (scripts/pg-pooler.mjs). These tests hold it to what makes that safe:
// a transaction runs on one backend from BEGIN to COMMIT whatever else is running, and a
// client that goes away inside a transaction never leaves it open for the next one.

async function connection<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
  const pool = openPool(env, 1);
  const client = await pool.connect();
  try {
    return await work(client);
  } finally {
    client.release();
    await pool.end();
  }
}

const one = async <T>(client: PoolClient, text: string, values: unknown[] = []) =>
  (await client.query(text, values)).rows[0] as T;

describe("the local tunnel's pooler", () => {
  it("shares backends between connections", async () => {
    const pids = new Set<number>();
    for (let i = 0; i < 20; i++) {
      pids.add((await connection((c) => one<{ pid: number }>(c, "SELECT pg_backend_pid() AS pid"))).pid);
    }
    // Without pooling each of the 20 connections would be a new backend.
    expect(pids.size).toBeLessThan(5);
  });

  it("keeps every transaction on one backend while many interleave", async () => {
    const runs = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        connection(async (client) => {
          await client.query("BEGIN");
          const seen: Array<{ pid: number; xid: string }> = [];
          for (let step = 0; step < 4; step++) {
            seen.push(await one(client, "SELECT pg_backend_pid() AS pid, txid_current()::text AS xid"));
            await new Promise((resolve) => setTimeout(resolve, (i * 7 + step * 3) % 11));
          }
          await client.query("COMMIT");
          return seen;
        }),
      ),
    );
    for (const seen of runs) {
      expect(new Set(seen.map((s) => s.pid)).size).toBe(1);
      expect(new Set(seen.map((s) => s.xid)).size).toBe(1);
    }
    // Each open transaction held its own backend.
    expect(new Set(runs.map((seen) => seen[0]!.xid)).size).toBe(runs.length);
  });

  it("closes the backend of a client that left inside a transaction: its work rolls back, its locks go", async () => {
    const tag = `abandoned-${crypto.randomUUID()}`;
    const lockKey = Math.floor(Math.random() * 1e9);
    await connection(async (client) => {
      await client.query("BEGIN");
      await client.query("SELECT set_config('application_name', $1, true)", [tag]);
      await client.query("SELECT pg_advisory_xact_lock($1)", [lockKey]);
      await client.query("CREATE TABLE abandoned_in_transaction (x int)");
      // released and ended with the transaction still open
    });
    let remaining = 1;
    for (let attempt = 0; attempt < 50 && remaining > 0; attempt++) {
      remaining = (
        await connection((c) =>
          one<{ n: number }>(c, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1", [tag]),
        )
      ).n;
      if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(remaining).toBe(0);
    const after = await connection((c) =>
      one<{ locked: boolean; table: string | null }>(
        c,
        "SELECT pg_try_advisory_xact_lock($1) AS locked, to_regclass('abandoned_in_transaction')::text AS table",
        [lockKey],
      ),
    );
    expect(after).toEqual({ locked: true, table: null });
  });

  it("serves a client that pipelines its password and first query (Neon's pipelineConnect)", async () => {
    const pool = openPool(env, 1);
    neonConfig.pipelineConnect = "password";
    try {
      const { rows } = await pool.query<{ n: number }>("SELECT 41 + 1 AS n");
      expect(rows[0]!.n).toBe(42);
    } finally {
      neonConfig.pipelineConnect = false;
      await pool.end();
    }
  });

  it("refuses a wrong password", async () => {
    const url = new URL(env.DATABASE_URL);
    url.password = "not-the-password";
    const pool = openPool({ ...env, DATABASE_URL: url.toString() }, 1);
    await expect(pool.query("SELECT 1")).rejects.toThrow(/password authentication failed/);
    await pool.end().catch(() => {});
  });
});
