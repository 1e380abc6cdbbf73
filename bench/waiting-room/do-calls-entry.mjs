// `npm run bench:waiting-room` serves the Worker bundle through this entry, so the benchmark can
// count, from outside src/, every call the Worker makes to the Show Durable Object. The bundle
// `wrangler deploy --dry-run` built is left as it is; bench/waiting-room/counting-bundle.mjs
// appends this file to a copy of it (the import below becomes two constants naming the bundle's
// own `ShowDO` and default export: Miniflare takes one module through bench/miniflare-host.mjs),
// and that single module is what workerd serves.
//
// - The Worker's handlers get `env.SHOW` wrapped: every RPC made through a stub of the namespace
//   (`getByName(show).pollQueue(…)`, `.roomStatus()`, `.queueSeen([...])`, whatever the code
//   calls) adds one to a counter of that show and method — and, when the first argument is an
//   array (a batch), its length to the method's items — before the call goes out unchanged. So
//   the counts are what the edge sent to the DO, by method, whatever the methods are called.
// - `ShowDO` is the bundle's class with its `alarm` counted (the admission tick; the runtime
//   calls it, never the code).
// - `GET /__bench/do-calls?show=<id>` returns both (the DO side through one more RPC, made with
//   the unwrapped binding so it is not counted); every other request goes to the bundle.
//
// Locally the Worker and the DO run in one isolate, so these module-level counters see every
// request. Cost: a Proxy hop per DO call, one `includes` on the URL per request (the no-op pays it).
import worker, { ShowDO as Base } from "./index.js";

// Drawn on first use: workerd allows no random values at module scope.
let isolate = null;
const edgeCalls = new Map();
const doAlarms = new Map();

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

function countedNamespace(namespace) {
  return new Proxy(namespace, {
    get(target, property) {
      if (property === "getByName") return (name, ...rest) => countedStub(target.getByName(name, ...rest), name);
      if (property === "get") return (id, ...rest) => countedStub(target.get(id, ...rest), id.name ?? id.toString());
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

  benchAlarms() {
    return doAlarms.get(this.benchShow) ?? 0;
  }
}

const countedWorker = {
  async fetch(request, env, ctx) {
    if (request.url.includes("/__bench/do-calls")) {
      const show = new URL(request.url).searchParams.get("show");
      if (!show) return Response.json({ error: "show is required" }, { status: 400 });
      isolate ??= crypto.randomUUID();
      return Response.json({
        isolate,
        edge: edgeCalls.get(show) ?? {},
        alarms: await env.SHOW.getByName(show).benchAlarms(),
      });
    }
    return worker.fetch(request, countedEnv(env), ctx);
  },
  scheduled: (controller, env, ctx) => worker.scheduled(controller, countedEnv(env), ctx),
  queue: (batch, env, ctx) => worker.queue(batch, countedEnv(env), ctx),
};

export { CountedShowDO as ShowDO, countedWorker as default };
