// The Onsale Worker exactly as `wrangler deploy --dry-run` bundled it, behind a thin wrapper
// for `npm run bench:onsale` (bundled together with it by bench/onsale/build.mjs):
//
// - every Worker → Show DO RPC call is counted by the route that made it and the method it
//   called (the stubs of `env.SHOW` are wrapped per request), so the benchmark can say exactly
//   how many polls reached the DO and how many were answered at the edge;
// - `GET /__bench/do-calls` returns those counts; `POST /__bench/scheduled` runs the Worker's
//   own cron handler (reconciliation + outbox) to completion, as the every-minute cron would;
// - when the host has no Queues (bench/miniflare-host.mjs passes none), `env.NOTIFICATIONS` is a
//   stand-in producer that accepts and counts messages, so publishing the outbox works as it
//   does in production; the email consumer is not exercised. Under `wrangler dev` the real
//   simulated Queue is used.
// Nothing else changes: the same handlers, the same Durable Object class.
import worker, { DoorDO, FeedDO, ShowDO as OnsaleShowDO } from "onsale-worker-bundle";

export { DoorDO, FeedDO };

/**
 * The Show DO as deployed, watched from outside for the queue-truth line: whenever an alarm or
 * a late poll admits fans, the seats available when it ran are noted (the tallies read right
 * after it: nothing changes seats between the tick and that read). Memory only; read at
 * `GET /__bench/admissions?show=<id>` after the sale.
 */
export class ShowDO extends OnsaleShowDO {
  #admissions = [];

  #watched(run) {
    const admitted = () => this.ctx.storage.sql.exec("SELECT admitted_count AS n FROM room_state").one().n;
    const before = admitted();
    const result = run();
    const after = admitted();
    if (after > before) {
      const { available, held } = this.counts();
      this.#admissions.push({ at_ms: Date.now(), admitted: after - before, available, held });
    }
    return result;
  }

  alarm() {
    return this.#watched(() => super.alarm());
  }

  pollQueue(...args) {
    return this.#watched(() => super.pollQueue(...args));
  }

  benchAdmissions() {
    return this.#admissions;
  }
}

const doCalls = Object.create(null);
const queued = { messages: 0, batches: 0 };
// Module scope runs before any request, when workerd's clock still reads 0: set on first use.
let startedAt = 0;

const standinQueue = {
  async send() {
    queued.messages += 1;
    queued.batches += 1;
  },
  async sendBatch(messages) {
    queued.messages += messages.length;
    queued.batches += 1;
  },
};

/** A route's name without its ids: `GET /v1/waiting-room/sessions/:id`. */
function routeOf(request) {
  const { pathname } = new URL(request.url);
  const path = pathname
    .split("/")
    .map((part) =>
      /^(shw|wrs|hld|ord|pay|tkt|evt|ven)_/.test(part) || /^[A-Za-z]+_[0-9A-Za-z]{16,}$/.test(part) ? ":id" : part,
    )
    .join("/");
  return `${request.method} ${path}`;
}

function count(route, method) {
  doCalls[route] ??= Object.create(null);
  doCalls[route][method] = (doCalls[route][method] ?? 0) + 1;
}

function countingStub(stub, route) {
  return new Proxy(stub, {
    get(target, property) {
      const value = target[property];
      if (typeof property !== "string" || typeof value !== "function") return value;
      return (...args) => {
        count(route, property);
        return value(...args);
      };
    },
  });
}

function countingNamespace(namespace, route) {
  return new Proxy(namespace, {
    get(target, property) {
      const value = target[property];
      if (typeof value !== "function") return value;
      if (property === "getByName" || property === "get") {
        return (...args) => countingStub(value.apply(target, args), route);
      }
      return value.bind(target);
    },
  });
}

function benchEnv(env, route) {
  return {
    ...env,
    SHOW: countingNamespace(env.SHOW, route),
    NOTIFICATIONS: env.NOTIFICATIONS ?? standinQueue,
  };
}

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    startedAt ||= Date.now();
    if (pathname === "/__bench/do-calls") {
      return Response.json({ since_ms: startedAt, now_ms: Date.now(), calls: doCalls, standin_queue: queued });
    }
    if (pathname === "/__bench/admissions") {
      const show = new URL(request.url).searchParams.get("show");
      return Response.json(await env.SHOW.getByName(show).benchAdmissions());
    }
    if (pathname === "/__bench/scheduled" && request.method === "POST") {
      const pending = [];
      const t0 = Date.now();
      await worker.scheduled({ cron: "* * * * *", scheduledTime: Date.now(), noRetry() {} }, benchEnv(env, "cron"), {
        waitUntil: (promise) => pending.push(promise),
        passThroughOnException() {},
      });
      const settled = await Promise.allSettled(pending);
      const failed = settled.filter((s) => s.status === "rejected").map((s) => String(s.reason?.message ?? s.reason));
      return Response.json({ ms: Date.now() - t0, failed });
    }
    return worker.fetch(request, benchEnv(env, routeOf(request)), ctx);
  },
  scheduled: (controller, env, ctx) => worker.scheduled(controller, benchEnv(env, "cron"), ctx),
  queue: (batch, env, ctx) => worker.queue(batch, benchEnv(env, "queue"), ctx),
};
