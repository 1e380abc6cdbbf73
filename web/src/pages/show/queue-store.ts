import { readJson, writeJson } from "../../lib/storage";

// The fan's place in a show's queue, in localStorage: reloading the page or reopening the tab
// keeps the place (the API also answers a second join with the same place while it lives).

export interface QueuePlace {
  session_id: string;
  ticket: string;
  /** The first position seen: the progress bar measures from here. */
  first_position: number | null;
  admission_token?: string;
  admission_expires_at_ms?: number;
}

const key = (fanId: string, showId: string) => `onsale.queue.${fanId}.${showId}`;

export const loadPlace = (fanId: string, showId: string) => readJson<QueuePlace>("local", key(fanId, showId));
export const savePlace = (fanId: string, showId: string, place: QueuePlace | null) =>
  writeJson("local", key(fanId, showId), place);

/** The admission token while it is still good (server clock), else null. */
export function liveAdmission(place: QueuePlace | null, serverNowMs: number) {
  if (!place?.admission_token || !place.admission_expires_at_ms) return null;
  return place.admission_expires_at_ms > serverNowMs
    ? { token: place.admission_token, expiresAtMs: place.admission_expires_at_ms }
    : null;
}
