import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createShow } from "./fixtures";
import { api, bearer, fanToken, uniqueFan } from "./helpers";

// Every operation the API documents, called with generated malformed (and now and then valid)
// path parameters, query strings, headers, credentials and bodies. Whatever comes in, the answer
// is never a 5xx, and every 4xx is a problem+json document with a stable code. The bodies are
// generated from each operation's own request schema, so validation behind authentication (and
// behind a real show, event, venue and hold) is reached, not just the router.

type Schema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  nullable?: boolean;
};
type Parameter = { in: "path" | "query" | "header"; name: string; required?: boolean; schema?: Schema };
type Operation = {
  method: string;
  path: string;
  security: "fan" | "organizer" | "none";
  parameters: Parameter[];
  body?: Schema;
};
type OpenApi = {
  paths: Record<
    string,
    Record<
      string,
      {
        security?: Record<string, unknown>[];
        parameters?: Parameter[];
        requestBody?: { content: Record<string, { schema: Schema }> };
      }
    >
  >;
  components: { schemas: Record<string, Schema> };
};

/** Runs per operation, times one plus its parameters (and two for a body). */
const RUNS_PER_OPERATION = 15;
const printable = (max: number) => fc.stringMatching(new RegExp(`^[\\x20-\\x7e]{0,${max}}$`));
const weird = fc.constantFrom(
  "",
  " ",
  "..",
  "%",
  "null",
  "undefined",
  "0",
  "-1",
  "1e309",
  "NaN",
  "shw_",
  "x".repeat(300),
  "💥",
  "\u0000",
  "<script>",
  "' OR 1=1 --",
  "9".repeat(40),
);

// Loaded at collection time, so each operation is its own named test.
const doc = (await (await api("/openapi.json")).json()) as OpenApi;
const statuses = new Map<number, number>();
let fanAuth: Record<string, string>;
let organizerAuth: Record<string, string>;
let known: Record<string, string>;

function resolve(schema: Schema | undefined): Schema {
  let current = schema ?? {};
  while (current.$ref) current = doc.components.schemas[current.$ref.split("/").at(-1)!] ?? {};
  return current;
}

const anyDate = fc.date({ noInvalidDate: true });
/** Strings aimed at what a field means: instants anywhere in `Date`'s range, cursors near bigint's edge. */
function hostileStrings(name: string): fc.Arbitrary<string> | null {
  if (name === "from" || name === "to" || name.endsWith("_at")) {
    return fc.oneof(
      anyDate.map((date) => date.toISOString()),
      anyDate.map((date) => date.toISOString().slice(0, -1)),
      anyDate.map((date) => date.toISOString().replace(/T.*$/, "")),
      fc.constantFrom("-271821-04-20", "+275760-09-13", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"),
    );
  }
  if (name === "cursor") {
    return fc
      .tuple(fc.bigInt({ min: -(10n ** 21n), max: 10n ** 21n }), fc.string({ maxLength: 30 }))
      .map(([at, id]) => btoa(JSON.stringify([String(at), id])).replaceAll("=", ""));
  }
  return null;
}

/** Values real objects have, so some requests get past "not found" to the checks behind it. */
function knownStrings(name: string): fc.Arbitrary<string> {
  const hostile = hostileStrings(name);
  if (hostile) return hostile;
  const byName: Record<string, string[]> = {
    show_id: [known.showId!],
    event_id: [known.eventId!],
    venue_id: [known.venueId!],
    hold_id: [known.holdId!, `hld_${"0".repeat(20)}_${known.showId!.slice(4)}`],
    section_id: ["A", "B"],
    section: ["A", "B"],
    seat_ids: ["A-1-1", "A-1-2", "B-3-4"],
    version: ["1", "2"],
  };
  return fc.constantFrom(
    ...(byName[name] ?? []),
    known.showId!,
    "A-1-1",
    "2030-01-01T20:00",
    "2030-01-01T20:00:00Z",
    "EUR",
    "Europe/Lisbon",
  );
}

/** A value that mostly follows `schema` (so the request reaches deeper checks), often not. */
function fromSchema(raw: Schema | undefined, name: string, depth = 0): fc.Arbitrary<unknown> {
  const schema = resolve(raw);
  const wild = depth > 3 ? fc.constant(null) : fc.jsonValue({ maxDepth: 2 });
  const options: fc.Arbitrary<unknown>[] = [];
  const variants = schema.anyOf ?? schema.oneOf ?? schema.allOf;
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (variants) options.push(...variants.map((variant) => fromSchema(variant, name, depth + 1)));
  if (schema.enum) options.push(fc.constantFrom(...schema.enum));
  for (const type of types) {
    switch (type) {
      case "object": {
        if (depth > 3) break;
        const properties = Object.entries(schema.properties ?? {});
        const record = Object.fromEntries(properties.map(([key, value]) => [key, fromSchema(value, key, depth + 1)]));
        options.push(
          fc.record(record, { requiredKeys: [] }),
          fc.record(record).map((value) => ({ ...value, unexpected_field: 1 })),
        );
        break;
      }
      case "array":
        if (depth > 3) break;
        options.push(
          fc.array(fromSchema(schema.items, name, depth + 1), { maxLength: Math.min(schema.maxItems ?? 5, 5) }),
          fc.constant([]),
        );
        break;
      case "string": {
        options.push(fc.string({ maxLength: 60 }), weird, knownStrings(name));
        if (schema.pattern) {
          try {
            options.push(fc.stringMatching(new RegExp(schema.pattern)));
          } catch {}
        }
        break;
      }
      case "integer":
      case "number":
        options.push(
          fc.integer(),
          fc.constantFrom(0, -1, 1, 2 ** 31, 2 ** 53 + 1, -(2 ** 63), 1e308, 0.5),
          fc.integer({ min: Math.ceil(schema.minimum ?? 0), max: Math.min(schema.maximum ?? 1000, 1000) }),
          // A fractional field (a ratio) gets fractions within and around its range too.
          ...(schema.type === "number"
            ? [fc.double({ min: (schema.minimum ?? 0) - 1, max: (schema.maximum ?? 1000) + 1, noNaN: true })]
            : []),
        );
        break;
      case "boolean":
        options.push(fc.boolean());
        break;
      case "null":
        options.push(fc.constant(null));
        break;
    }
  }
  if (options.length === 0) return wild;
  return fc.oneof({ arbitrary: fc.oneof(...options), weight: 5 }, { arbitrary: wild, weight: 1 });
}

function operations(): Operation[] {
  const out: Operation[] = [{ method: "GET", path: "/healthz", security: "none", parameters: [] }];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const scheme = Object.keys(op.security?.[0] ?? {})[0];
      out.push({
        method: method.toUpperCase(),
        path,
        security: scheme === "fanBearer" ? "fan" : scheme === "organizerKey" ? "organizer" : "none",
        parameters: op.parameters ?? [],
        body: op.requestBody?.content["application/json"]?.schema,
      });
    }
  }
  return out;
}

function credentials(security: Operation["security"]): fc.Arbitrary<Record<string, string>> {
  const proper = security === "fan" ? fanAuth : organizerAuth;
  return fc.oneof(
    { arbitrary: fc.constant(proper), weight: security === "none" ? 1 : 6 },
    { arbitrary: fc.constant({}), weight: 1 },
    { arbitrary: fc.constant(security === "fan" ? organizerAuth : fanAuth), weight: 1 },
    { arbitrary: printable(80).map((value) => ({ authorization: value })), weight: 1 },
    { arbitrary: printable(80).map((value) => ({ authorization: `Bearer ${value}` })), weight: 1 },
  );
}

function request(op: Operation) {
  const pathParams = op.parameters.filter((p) => p.in === "path");
  const query = op.parameters.filter((p) => p.in === "query");
  const headers = op.parameters.filter((p) => p.in === "header");
  const stringish = (param: Parameter) =>
    fc.oneof(
      fromSchema(param.schema, param.name).map((value) => (typeof value === "string" ? value : JSON.stringify(value))),
      knownStrings(param.name),
      weird,
    );
  return fc
    .record({
      path: fc
        .tuple(...pathParams.map(stringish))
        .map((values) =>
          values.reduce<string>(
            (path, value, i) => path.replace(`{${pathParams[i]!.name}}`, encodeURIComponent(value ?? "")),
            op.path,
          ),
        ),
      query: fc.tuple(
        fc.oneof(
          // Every parameter at once (one bad one hides the others), or one alone, so each is reached.
          { arbitrary: fc.tuple(...query.map((param) => fc.option(stringish(param), { nil: undefined }))), weight: 1 },
          {
            arbitrary: query.length
              ? fc
                  .nat(query.length - 1)
                  .chain((only) =>
                    fc
                      .oneof({ arbitrary: knownStrings(query[only]!.name), weight: 2 }, stringish(query[only]!))
                      .map((value) => query.map((_, i) => (i === only ? value : undefined))),
                  )
              : fc.constant([]),
            weight: 2,
          },
        ),
        fc.option(fc.tuple(printable(10), printable(20)), { nil: undefined, freq: 5 }),
      ),
      headers: fc.tuple(
        ...headers.map((param) => fc.option(fc.oneof(printable(300), knownStrings(param.name)), { nil: undefined })),
      ),
      auth: credentials(op.security),
      body: fc.oneof(
        { arbitrary: fc.constant(undefined), weight: op.body ? 1 : 4 },
        { arbitrary: fromSchema(op.body ?? { type: "object" }, "body").map((value) => ({ json: value })), weight: 6 },
        { arbitrary: fc.string({ maxLength: 200 }).map((text) => ({ text, type: "application/json" })), weight: 1 },
        { arbitrary: fc.jsonValue().map((value) => ({ text: JSON.stringify(value), type: "text/plain" })), weight: 1 },
      ),
    })
    .map(({ path, query: [values, extra], headers: headerValues, auth, body }) => {
      const search = new URLSearchParams();
      values.forEach((value, i) => {
        if (value !== undefined) search.set(query[i]!.name, value);
      });
      if (extra) search.set(extra[0] || "x", extra[1]);
      const sent = new Headers(auth);
      headerValues.forEach((value, i) => {
        if (value !== undefined) sent.set(headers[i]!.name, value);
      });
      let payload: string | undefined;
      if (body && "json" in body) {
        payload = JSON.stringify(body.json) ?? "null";
        sent.set("content-type", "application/json");
      } else if (body) {
        payload = body.text;
        sent.set("content-type", body.type);
      }
      const url = `${path}${search.size ? `?${search}` : ""}`;
      return { url, init: { method: op.method, headers: sent, body: op.method === "GET" ? undefined : payload } };
    });
}

beforeAll(async () => {
  const show = await createShow();
  const fanId = uniqueFan();
  fanAuth = bearer(await fanToken(fanId));
  organizerAuth = bearer(show.organizer.key);
  const hold = (await (
    await api(`/v1/shows/${show.showId}/holds`, {
      method: "POST",
      headers: { ...fanAuth, "idempotency-key": crypto.randomUUID() },
      json: { seat_ids: ["B-3-4"] },
    })
  ).json()) as { hold_id: string };
  known = { showId: show.showId, eventId: show.eventId, venueId: show.venueId, holdId: hold.hold_id };
}, 60_000);

afterAll(() => {
  console.log("fuzz statuses:", Object.fromEntries([...statuses].sort(([a], [b]) => a - b)));
});

describe("fuzzing every documented operation: no 5xx, every 4xx a problem", () => {
  it("covers the whole document", () => {
    expect(operations().length).toBeGreaterThan(40);
  });

  it.each(operations().map((op) => [`${op.method} ${op.path}`, op] as const))("%s", async (_name, op) => {
    await fc.assert(
      fc.asyncProperty(request(op), async ({ url, init }) => {
        const response = await api(url, init);
        const text = await response.text();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        const where = `${op.method} ${url} → ${response.status} ${text.slice(0, 300)}`;
        expect(response.status, where).toBeLessThan(500);
        if (response.status >= 400) {
          expect(response.headers.get("content-type"), where).toBe("application/problem+json");
          const problem = JSON.parse(text) as { status: number; code: unknown };
          expect(problem.status, where).toBe(response.status);
          expect(typeof problem.code, where).toBe("string");
        }
      }),
      { numRuns: RUNS_PER_OPERATION * (1 + op.parameters.length + (op.body ? 2 : 0)) },
    );
  });
});
