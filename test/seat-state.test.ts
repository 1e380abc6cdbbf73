import { describe, expect, it } from "vitest";
import { nextSeatStatus, type SeatEvent, seatStatuses } from "../durable-objects/seat-state";

const events: SeatEvent[] = ["hold", "release", "sell", "refund", "block", "unblock"];

describe("seat state machine", () => {
  it("allows exactly the transitions of the design, and nothing else", () => {
    const allowed = seatStatuses.flatMap((from) =>
      events.flatMap((event) => {
        const to = nextSeatStatus(from, event);
        return to ? [`${from} -${event}-> ${to}`] : [];
      }),
    );
    expect(allowed.sort()).toEqual(
      [
        "available -hold-> held",
        "available -block-> blocked",
        "held -release-> available",
        "held -sell-> sold",
        "sold -refund-> available",
        "blocked -unblock-> available",
      ].sort(),
    );
  });

  it("a sold or blocked seat can never be held", () => {
    expect(nextSeatStatus("sold", "hold")).toBeNull();
    expect(nextSeatStatus("blocked", "hold")).toBeNull();
    expect(nextSeatStatus("held", "hold")).toBeNull();
  });
});
