import { describe, expect, it } from "vitest";
import { Breaker } from "../src/lib/breaker";
import { ApiError } from "../src/lib/problem";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const refused = (breaker: Breaker) => {
  try {
    breaker.admit();
    return false;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe("dependency_unavailable");
    return true;
  }
};

describe("circuit breaker", () => {
  it("opens after failures in a row, lets one trial through after the cool-down, and closes on its success", async () => {
    const breaker = new Breaker("postgres", 3, 100);
    breaker.admit();
    breaker.failed();
    breaker.admit();
    breaker.succeeded(); // a success in between resets the count
    for (let i = 0; i < 2; i++) {
      breaker.admit();
      breaker.failed();
    }
    expect(breaker.state).toBe("closed");
    breaker.admit();
    breaker.failed();
    expect(breaker.state).toBe("open");
    expect(refused(breaker)).toBe(true);
    await sleep(120);
    expect(breaker.state).toBe("half_open");
    expect(refused(breaker)).toBe(false); // the trial
    expect(refused(breaker)).toBe(true); // everyone else waits for it
    breaker.succeeded();
    expect(breaker.state).toBe("closed");
    expect(refused(breaker)).toBe(false);
  });

  it("a failed trial re-opens at once; a trial that never reports stops blocking after a cool-down", async () => {
    const breaker = new Breaker("stripe", 1, 100);
    breaker.failed();
    await sleep(120);
    expect(refused(breaker)).toBe(false);
    breaker.failed();
    expect(breaker.state).toBe("open");
    await sleep(120);
    expect(refused(breaker)).toBe(false); // a trial whose request is cancelled: no report
    expect(refused(breaker)).toBe(true);
    await sleep(120);
    expect(refused(breaker)).toBe(false);
    breaker.succeeded();
    expect(breaker.state).toBe("closed");
  });

  it("does not open on overload: failures of calls that waited while the dependency answered others do not count", async () => {
    const breaker = new Breaker("postgres", 3, 100);
    // Ten calls queue up; one other call is answered while they wait; then all ten time out, in a row.
    const started = Date.now();
    await sleep(2);
    breaker.succeeded();
    await sleep(2);
    for (let i = 0; i < 10; i++) breaker.failed(started);
    expect(breaker.state).toBe("closed");
    expect(refused(breaker)).toBe(false);
    // The dependency goes quiet: calls that started after its last answer do count.
    await sleep(2);
    for (let i = 0; i < 3; i++) breaker.failed(Date.now());
    expect(breaker.state).toBe("open");
  });
});
