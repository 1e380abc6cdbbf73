import { and, eq, isNull } from "drizzle-orm";
import type { Database } from "../db/client";
import { organizerApiKeys, organizers } from "../db/schema";
import { sha256Hex } from "../lib/ids";
import { ApiError } from "../lib/problem";

export interface Organizer {
  id: string;
  name: string;
}

const keyPattern = /^osk_[a-z]+_[0-9A-Za-z]{24,64}$/;

/** A new organizer API key; only its SHA-256 is ever stored. */
export function newOrganizerKey(kind: "live" | "dev" = "live"): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return `osk_${kind}_${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export const hashOrganizerKey = (key: string) => sha256Hex(key);

export async function findOrganizerByKey(db: Database, key: string): Promise<Organizer> {
  // A malformed key cannot match a stored hash; don't spend a query on it.
  if (!keyPattern.test(key)) throw invalidKey();
  const keyHash = await hashOrganizerKey(key);
  const [row] = await db
    .select({ id: organizers.id, name: organizers.name })
    .from(organizerApiKeys)
    .innerJoin(organizers, eq(organizers.id, organizerApiKeys.organizerId))
    .where(and(eq(organizerApiKeys.keyHash, keyHash), isNull(organizerApiKeys.revokedAt)))
    .limit(1);
  if (!row) throw invalidKey();
  return row;
}

const invalidKey = () =>
  new ApiError(401, "invalid_api_key", "The organizer API key is unknown or revoked", undefined, {
    "www-authenticate": "Bearer",
  });
