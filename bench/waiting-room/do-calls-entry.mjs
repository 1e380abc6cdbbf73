// `npm run bench:waiting-room` serves the Worker bundle through this entry, so the benchmark can
// count, from outside src/, every call the Worker makes to the Show Durable Object. The bundle
// `wrangler deploy --dry-run` built is left as it is; bench/waiting-room/counting-bundle.mjs
// appends this file to a copy of it (the import below becomes two constants naming the bundle's
// own `ShowDO` and default export: Miniflare takes one module through bench/miniflare-host.mjs),
// and that single module is what workerd serves.
//
// - The Worker's handlers get `env.SHOW` (and any other Durable Object namespace, such as the
//   location's `DOOR`, counted as `DOOR.<method>`) wrapped: every RPC made through a stub of the namespace
//   (`getByName(show).pollQueue(…)`, `.roomStatus()`, `.queueSeen([...])`, whatever the code
//   calls) adds one to a counter of that show and method — and, when the first argument is an
//   array (a batch), its length to the method's items — before the call goes out unchanged. So
//   the counts are what the edge sent to the DO, by method, whatever the methods are called.
// - `ShowDO` is the bundle's class with its `alarm` counted (the admission tick; the runtime
//   calls it, never the code), and every public method of the class counted on arrival, per show
//   and method, whoever called it (the edge, or another Durable Object relaying for it): the
//   Show DO's own view of the RPCs it received. A method the object calls on itself is not an
//   RPC and is not counted (only the outermost call of a synchronous stack counts).
// - `GET /__bench/do-calls?show=<id>` returns both (the DO side through one more RPC, made with
//   the unwrapped binding so it is not counted), and `edge_all`: the edge's calls summed over
//   every show (the join storm uses a fresh show per round, and counts calls to any show);
//   every other request goes to the bundle.
//
// - The Rate Limiting bindings are replaced by an always-allow stand-in that counts its calls
//   (`limiter_calls`): Miniflare's binding fails requests under this bench's concurrency.
//
// The edge's counters live in the Worker's isolate and the objects' in theirs (one and the same
// isolate unless the bench runs with --split); `benchCounts` reads the objects' side by RPC. Cost: a Proxy hop per DO call, one `includes` on the URL per request (the no-op pays it).
import worker, { ShowDO as Base } from "./index.js";

// Drawn on first use: workerd allows no random values at module scope.
let isolate = null;
const edgeCalls = new Map();
const doAlarms = new Map();
const doReceived = new Map();
const limiterCalls = new Map();
let depth = 0;

function countReceived(show, method) {
  let byMethod = doReceived.get(show);
  if (!byMethod) {
    byMethod = {};
    doReceived.set(show, byMethod);
  }
  byMethod[method] = (byMethod[method] ?? 0) + 1;
}

function countCall(show, method, args) {
  let byMethod = edgeCalls.get(show);
  if (!byMethod) {
    byMethod = {};
    edgeCalls.set(show, byMethod);
  }
  const entry = byMethod[method] ?? { calls: 0, items: 0 };
  entry.calls++;
  if (Array.isArray(args[0])) entry.items += args[0].length;
  byMethod[method] = entry;
}

function countedStub(stub, show) {
  return new Proxy(stub, {
    get(target, property) {
      const value = target[property];
      if (typeof property !== "string" || typeof value !== "function" || property === "then") return value;
      return (...args) => {
        countCall(show, property, args);
        return target[property](...args);
      };
    },
  });
}

/**
 * `prefix` names calls to a namespace other than SHOW (`DOOR.collect`), counted under the show
 * its object name starts with (`<show>:<location>`).
 */
function countedStubAs(stub, show, prefix) {
  return new Proxy(stub, {
    get(target, property) {
      const value = target[property];
      if (typeof property !== "string" || typeof value !== "function" || property === "then") return value;
      return (...args) => {
        countCall(show, `${prefix}${property}`, args);
        return target[property](...args);
      };
    },
  });
}

function countedNamespace(namespace, prefix = "") {
  const showOf = (name) => (prefix ? String(name).split(":")[0] : name);
  const stub = (s, name) => (prefix ? countedStubAs(s, showOf(name), prefix) : countedStub(s, name));
  return new Proxy(namespace, {
    get(target, property) {
      if (property === "getByName") return (name, ...rest) => stub(target.getByName(name, ...rest), name);
      if (property === "get") return (id, ...rest) => stub(target.get(id, ...rest), id.name ?? id.toString());
      const value = target[property];
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

const envs = new WeakMap();
function countedEnv(env) {
  let counted = envs.get(env);
  if (!counted) {
    counted = { ...env, SHOW: countedNamespace(env.SHOW) };
    // Other Durable Object namespaces (the location's door, …): their calls are counted too.
    // Rate Limiting bindings are replaced by an always-allow stand-in that counts its calls:
    // Miniflare's own binding, under this bench's concurrency, fails requests with "Cannot perform
    // I/O on behalf of a different request" and costs several times a no-op request.
    for (const [name, value] of Object.entries(env)) {
      if (typeof value?.limit === "function" && typeof value?.idFromName !== "function") {
        counted[name] = {
          limit: async () => {
            limiterCalls.set(name, (limiterCalls.get(name) ?? 0) + 1);
            return { success: true };
          },
        };
        continue;
      }
      if (name !== "SHOW" && typeof value?.idFromName === "function" && typeof value?.getByName === "function") {
        counted[name] = countedNamespace(value, `${name}.`);
      }
    }
    envs.set(env, counted);
  }
  return counted;
}

class CountedShowDO extends Base {
  constructor(ctx, env) {
    super(ctx, env);
    this.benchShow = ctx.id.name ?? ctx.id.toString();
  }

  alarm(...args) {
    doAlarms.set(this.benchShow, (doAlarms.get(this.benchShow) ?? 0) + 1);
    return super.alarm(...args);
  }

  /**
   * The object's side of the counters, read from its own isolate: with the objects in a process
   * of their own (`--split`) the Worker's module-level maps never see them.
   */
  benchCounts() {
    return {
      alarms: doAlarms.get(this.benchShow) ?? 0,
      received: doReceived.get(this.benchShow) ?? {},
      received_all: sumByMethod(doReceived.values()),
    };
  }
}

// Every public method of the bundle's class (and its bases below DurableObject), counted when
// called from outside the object.
for (let proto = Base.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
  if (proto.constructor?.name === "DurableObject") break;
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (name === "constructor" || name === "alarm" || Object.hasOwn(CountedShowDO.prototype, name)) continue;
    const descriptor = Object.getOwnPropertyDescriptor(proto, name);
    if (typeof descriptor?.value !== "function") continue;
    const original = descriptor.value;
    Object.defineProperty(CountedShowDO.prototype, name, {
      configurable: true,
      writable: true,
      value: function counted(...args) {
        if (depth === 0) countReceived(this.benchShow, name);
        depth++;
        try {
          return original.apply(this, args);
        } finally {
          depth--;
        }
      },
    });
  }
}

const sumByMethod = (maps) => {
  const all = {};
  for (const byMethod of maps) for (const [method, n] of Object.entries(byMethod)) all[method] = (all[method] ?? 0) + n;
  return all;
};

const countedWorker = {
  async fetch(request, env, ctx) {
    if (request.url.includes("/__bench/do-calls")) {
      const show = new URL(request.url).searchParams.get("show");
      if (!show) return Response.json({ error: "show is required" }, { status: 400 });
      isolate ??= crypto.randomUUID();
      const all = {};
      for (const byMethod of edgeCalls.values()) {
        for (const [method, { calls, items }] of Object.entries(byMethod)) {
          const entry = all[method] ?? { calls: 0, items: 0 };
          entry.calls += calls;
          entry.items += items;
          all[method] = entry;
        }
      }
      return Response.json({
        isolate,
        edge: edgeCalls.get(show) ?? {},
        edge_all: all,
        limiter_calls: Object.fromEntries(limiterCalls),
        // What the Show DOs received, by method (this request's own benchCounts call included),
        // and the show's alarms: from the objects' isolate.
        ...(await env.SHOW.getByName(show).benchCounts()),
      });
    }
    return worker.fetch(request, countedEnv(env), ctx);
  },
  scheduled: (controller, env, ctx) => worker.scheduled(controller, countedEnv(env), ctx),
  queue: (batch, env, ctx) => worker.queue(batch, countedEnv(env), ctx),
};

export { CountedShowDO as ShowDO, countedWorker as default };
