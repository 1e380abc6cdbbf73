import { and, eq, lt, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { idempotencyRecords } from "../db/schema";
import { sha256Hex } from "../lib/ids";
import { ApiError } from "../lib/problem";

/**
 * An in-flight record older than this belongs to a request that died; a retry may take over.
 * Every call a request makes is bounded (src/lib/deadline.ts), so none runs this long; a record
 * left behind by a Postgres outage (its delete failed too) frees the key within a minute.
 */
const ABANDONED_AFTER_MS = 60_000;

export interface StoredResponse {
  status: 200 | 201;
  body: Record<string, unknown>;
}

/**
 * Runs `work` once per (scope, route, key). The same key with the same request replays the
 * stored response; with another request it is a 422; while the first is still running, a 409.
 * A request that fails stores nothing, so the client may retry it with the same key.
 */
export async function idempotent(
  db: Database,
  request: { scope: string; route: string; key: string; body: unknown },
  work: () => Promise<StoredResponse>,
): Promise<StoredResponse & { replayed: boolean }> {
  const requestHash = await sha256Hex(JSON.stringify(request.body ?? null));
  const where = and(
    eq(idempotencyRecords.scope, request.scope),
    eq(idempotencyRecords.route, request.route),
    eq(idempotencyRecords.key, request.key),
  );
  const claimed = await db
    .insert(idempotencyRecords)
    .values({ scope: request.scope, route: request.route, key: request.key, requestHash })
    .onConflictDoNothing()
    .returning({ key: idempotencyRecords.key });
  if (claimed.length === 0) {
    const [record] = await db.select().from(idempotencyRecords).where(where);
    if (!record)
      throw new ApiError(409, "idempotency_key_in_flight", "A request with this Idempotency-Key just ended; retry");
    if (record.requestHash !== requestHash) {
      throw new ApiError(422, "idempotency_key_reused", "This Idempotency-Key was used with a different request");
    }
    if (record.state === "completed") {
      return {
        status: record.responseStatus as 200 | 201,
        body: record.responseBody as Record<string, unknown>,
        replayed: true,
      };
    }
    const takenOver = await db
      .update(idempotencyRecords)
      .set({ createdAt: sql`now()` })
      .where(
        and(
          where,
          eq(idempotencyRecords.state, "in_flight"),
          lt(idempotencyRecords.createdAt, new Date(Date.now() - ABANDONED_AFTER_MS)),
        ),
      )
      .returning({ key: idempotencyRecords.key });
    if (takenOver.length === 0) {
      throw new ApiError(
        409,
        "idempotency_key_in_flight",
        "A request with this Idempotency-Key is still being processed",
        undefined,
        { "retry-after": "2" },
      );
    }
  }
  try {
    const response = await work();
    await db
      .update(idempotencyRecords)
      .set({
        state: "completed",
        responseStatus: response.status,
        responseBody: response.body,
        completedAt: sql`now()`,
      })
      .where(where);
    return { ...response, replayed: false };
  } catch (error) {
    await db.delete(idempotencyRecords).where(and(where, eq(idempotencyRecords.state, "in_flight")));
    throw error;
  }
}
