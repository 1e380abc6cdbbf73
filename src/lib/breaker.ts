import { type Dependency, dependencyUnavailable } from "./problem";

// A circuit breaker per dependency and isolate. While Postgres or Stripe is down, every request
// that tries it would otherwise wait out its own timeout, holding the isolate's connections and
// piling up retries; after a few failures in a row the breaker answers 503 at once for a short
// cool-down, then lets one request through to find out whether the dependency is back.
//
// It opens on a dependency that is failing, never on our own overload: a call that failed (timed
// out, say) while the dependency answered other calls of this isolate is not evidence of an
// outage — it waited in a busy queue — and does not count. Under plain load something always
// answers; when the dependency is down, nothing does.

/** Failures in a row that open the breaker. */
export const BREAKER_FAILURES = 5;
/** How long an open breaker refuses before it lets one trial request through. */
export const BREAKER_COOLDOWN_MS = 5_000;

export type BreakerState = "closed" | "open" | "half_open";

export class Breaker {
  private failures = 0;
  private openUntil = 0;
  /** When the half-open breaker let its trial through; 0 when none is out. */
  private trialSince = 0;
  /** When the dependency last answered a call of this isolate (0: never). */
  lastAnswerAt = 0;

  constructor(
    readonly dependency: Dependency,
    private readonly failuresToOpen = BREAKER_FAILURES,
    private readonly cooldownMs = BREAKER_COOLDOWN_MS,
  ) {}

  get state(): BreakerState {
    if (this.openUntil === 0) return "closed";
    return Date.now() < this.openUntil ? "open" : "half_open";
  }

  /** Seconds a refused caller should wait. */
  retryAfterS() {
    return Math.max(1, (this.openUntil - Date.now()) / 1000);
  }

  /**
   * Throws the 503 problem while the breaker is open, and while a half-open breaker already
   * has its trial request out; otherwise lets the call through (as the trial, if half-open).
   */
  admit() {
    const state = this.state;
    if (state === "open") throw dependencyUnavailable(this.dependency, this.retryAfterS(), "failed repeatedly");
    if (state === "half_open") {
      // A trial that never reported (its request was cancelled) stops counting after a cool-down.
      const now = Date.now();
      if (this.trialSince && now - this.trialSince < this.cooldownMs) {
        throw dependencyUnavailable(this.dependency, 1, "is being retried");
      }
      this.trialSince = now;
    }
  }

  /** Throws the 503 problem while the breaker is open; never takes the half-open trial. */
  refuseIfOpen() {
    if (this.state === "open") throw dependencyUnavailable(this.dependency, this.retryAfterS(), "failed repeatedly");
  }

  succeeded() {
    this.failures = 0;
    this.openUntil = 0;
    this.trialSince = 0;
    this.lastAnswerAt = Date.now();
  }

  /**
   * A call that started at `startedAt` failed. If the dependency answered another call since
   * then, this one failed in a queue, not because the dependency is down: it is not counted
   * (a half-open breaker's trial always is: nothing else was let through).
   */
  failed(startedAt = Date.now()) {
    if (!this.trialSince && this.lastAnswerAt > startedAt) return;
    this.failures += 1;
    // A failed trial re-opens at once; a closed breaker opens after enough failures in a row.
    if (this.trialSince || this.failures >= this.failuresToOpen) {
      this.openUntil = Date.now() + this.cooldownMs;
      this.trialSince = 0;
    }
  }
}

const breakers = new Map<string, Breaker>();

/**
 * The isolate's breaker for one dependency at one address: a test (or a second database) that
 * points at another address has its own, so a black hole never trips the real one.
 */
export function breakerFor(dependency: Dependency, address: string): Breaker {
  const key = `${dependency} ${address}`;
  let breaker = breakers.get(key);
  if (!breaker) {
    breaker = new Breaker(dependency);
    breakers.set(key, breaker);
  }
  return breaker;
}
