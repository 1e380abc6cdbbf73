import { describe, expect, it } from "vitest";
import { demoArenaSeatMap } from "../src/catalog/demo";
import { flattenSeats, SeatMap, seatMapProblems } from "../src/catalog/seat-map";

describe("seat map validation", () => {
  it("the demo arena is valid: 2,400 seats in six sections", () => {
    const map = SeatMap.parse(demoArenaSeatMap());
    expect(seatMapProblems(map)).toEqual([]);
    expect(flattenSeats(map)).toHaveLength(2400);
    expect(flattenSeats(map).filter((s) => s.accessible).length).toBeGreaterThan(0);
    expect(flattenSeats(map).filter((s) => s.obstructed_view).length).toBeGreaterThan(0);
  });

  it("lists every problem by path: duplicate ids, seats outside their section, empty sections", () => {
    const map = SeatMap.parse(demoArenaSeatMap());
    const floor = map.sections[0]!;
    floor.rows[0]!.seats[1]!.id = floor.rows[0]!.seats[0]!.id;
    floor.rows[1]!.seats[0]!.x = 10_000;
    map.sections[1]!.rows = [];
    map.sections.push({ ...map.sections[2]!, name: "Copy" });
    const problems = seatMapProblems(map);
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: "sections.0.rows.0.seats.1.id", message: "seat id must be FLA-1-2" },
        { path: "sections.0.rows.0.seats.1.id", message: "duplicate seat id FLA-1-1" },
        { path: "sections.0.rows.1.seats.0", message: "seat FLA-2-1 lies outside section FLA" },
        { path: "sections.1", message: "section has no seats and no ga_capacity" },
        { path: "sections.6.id", message: "duplicate section id L101" },
      ]),
    );
  });

  it("GA places count toward the map's ceiling: each is a row in the Show DO like a seat", () => {
    const map = SeatMap.parse(demoArenaSeatMap());
    const ga = (id: string, capacity: number) => ({
      ...map.sections[0]!,
      id,
      name: id,
      rows: [],
      ga_capacity: capacity,
    });
    expect(seatMapProblems({ ...map, sections: [...map.sections, ga("PIT", 100_000)] })).toEqual([]);
    expect(seatMapProblems({ ...map, sections: [...map.sections, ga("PIT", 100_000), ga("PIT2", 50_000)] })).toEqual([
      { path: "sections", message: "152400 seats and GA places is more than the 150000 a map may have" },
    ]);
  });
});
