import { readJson, writeJson } from "../../lib/storage";

// The shows whose waitlist this fan joined on this device (the API has no "my waitlists" list):
// the wallet asks each for the fan's place and any offer.

export interface KnownWaitlist {
  show_id: string;
  event_name: string;
}

const key = (fanId: string) => `onsale.waitlists.${fanId}`;

export const knownWaitlists = (fanId: string) => readJson<KnownWaitlist[]>("local", key(fanId)) ?? [];

export function rememberWaitlist(fanId: string, entry: KnownWaitlist) {
  const others = knownWaitlists(fanId).filter((known) => known.show_id !== entry.show_id);
  writeJson("local", key(fanId), [...others, entry]);
}

export function forgetWaitlist(fanId: string, showId: string) {
  writeJson(
    "local",
    key(fanId),
    knownWaitlists(fanId).filter((known) => known.show_id !== showId),
  );
}
