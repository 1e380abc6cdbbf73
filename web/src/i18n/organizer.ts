import { enOrganizer, type OrganizerMessages } from "./en-organizer";

// The console's strings, loaded with the console only (see ./en-organizer.ts).
export const to: OrganizerMessages = enOrganizer;
