import { signal } from "@preact/signals";
import { readJson, writeJson } from "../../lib/storage";

// The console's organizer API key: in this tab only (sessionStorage), never in a cookie.

export interface OrganizerSession {
  key: string;
  organizer_id: string;
  name: string;
}

const KEY = "onsale.organizer";
export const organizerSession = signal<OrganizerSession | null>(readJson<OrganizerSession>("session", KEY));

export function setOrganizerSession(value: OrganizerSession | null) {
  writeJson("session", KEY, value);
  organizerSession.value = value;
}
