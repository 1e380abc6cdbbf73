import { describe, expect, it } from "vitest";
import { bestAvailable, type FreeSeat } from "../durable-objects/best-available";

const row = (rowIndex: number, seatIndexes: number[]): FreeSeat[] =>
  seatIndexes.map((seatIndex) => ({
    seat_id: `R${rowIndex}-${seatIndex}`,
    row_index: rowIndex,
    seat_index: seatIndex,
  }));

describe("best available", () => {
  it("takes the adjacent run nearest the centre of the frontmost row that has one", () => {
    const free = [...row(0, [1, 3, 5]), ...row(1, [1, 2, 3, 4, 5, 6, 7]), ...row(2, [1, 2])];
    expect(bestAvailable(free, 2)).toEqual(["R1-3", "R1-4"]);
    expect(bestAvailable(free, 3)).toEqual(["R1-3", "R1-4", "R1-5"]);
    expect(bestAvailable(free, 1)).toEqual(["R0-3"]);
  });

  it("falls back to the free seats of the nearest rows when no row has the run", () => {
    const free = [...row(0, [1, 3]), ...row(1, [5])];
    expect(bestAvailable(free, 3)).toEqual(["R0-1", "R0-3", "R1-5"]);
    expect(bestAvailable(free, 4)).toBeNull();
    expect(bestAvailable([], 1)).toBeNull();
  });

  it("is linear in the free seats: a 200,000-seat row with gaps is answered in one pass", () => {
    // Every third seat taken: no run of 3 anywhere, so every start is examined once.
    const free = row(
      0,
      Array.from({ length: 200_000 }, (_, i) => i).filter((i) => i % 3 !== 2),
    );
    expect(bestAvailable(free, 3)).toHaveLength(3);
    expect(bestAvailable(free, 2)).toHaveLength(2);
  });
});
