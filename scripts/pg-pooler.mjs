// A transaction pooler for the local WebSocket tunnel: what Neon's pooled endpoint (PgBouncer
// in transaction mode) does in production. A Worker opens a Postgres connection per request;
// without a pooler each of those is a new Postgres backend (fork, authentication, cold catalog
// caches): measured here at ~30 ms per connection (SCRAM auth) against ~0.6 ms for the same
// queries on a warm one. The pooler keeps a bounded set of authenticated backends and lends
// one to a client for one transaction (or one statement outside a transaction), then takes it
// back when the backend reports it is idle again (ReadyForQuery 'I').
//
// It speaks just enough of the wire protocol (3.0): the startup packet, the client's password,
// the server's authentication (trust, cleartext, MD5, SCRAM-SHA-256 through pg's own SCRAM
// code), cancel requests, and the framing that tells where a client's session ends (Terminate)
// and where a transaction ends. As with PgBouncer in transaction mode, session state does not
// survive a transaction (SET, named prepared statements, advisory session locks, LISTEN):
// Onsale uses none of them. A client that goes away inside a transaction or mid-query closes
// its backend instead of returning it; Postgres rolls back as for any dropped client.
import { createHash, randomInt } from "node:crypto";
import { createRequire } from "node:module";
import net from "node:net";

const sasl = createRequire(import.meta.url)("pg/lib/crypto/sasl");

const PROTOCOL_3 = 196608;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
/**
 * Backends per user/database, as PgBouncer's pool size: more transactions than this wait for
 * a backend instead of forking more, which under a flash crowd would only add authentication
 * and fork cost to an already saturated machine.
 */
const DEFAULT_MAX_BACKENDS = 128;
const IDLE_TIMEOUT_MS = 60_000;
/** As PgBouncer's query_wait_timeout: a client waiting longer for a backend gets an error. */
const WAIT_TIMEOUT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 10_000;
/** Extended-protocol and COPY messages that leave the backend mid-query until the next Sync. */
const UNSYNCED = new Set(["P", "B", "D", "E", "C", "H", "d", "c", "f"]);

/** A typed message: type byte, int32 length (including itself), body. */
function message(type, body = Buffer.alloc(0)) {
  const out = Buffer.alloc(5 + body.length);
  out.write(type, 0, "latin1");
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}
function int32s(...values) {
  const b = Buffer.alloc(4 * values.length);
  for (const [i, v] of values.entries()) b.writeInt32BE(v, 4 * i);
  return b;
}
const cstring = (s) => Buffer.from(`${s}\0`, "utf8");
const untypedPacket = (body) => Buffer.concat([int32s(4 + body.length), body]);

function errorResponse(code, text) {
  return message(
    "E",
    Buffer.concat([
      Buffer.from("SFATAL\0VFATAL\0", "latin1"),
      cstring(`C${code}`),
      cstring(`M${text}`),
      Buffer.from([0]),
    ]),
  );
}

/**
 * Splits a byte stream into typed messages. `onMessage(type, whole)` gets each complete
 * message (type byte included); a partial one waits for the next chunk.
 */
function framer(onMessage) {
  let carry = null;
  return (chunk) => {
    const buf = carry ? Buffer.concat([carry, chunk]) : chunk;
    let at = 0;
    while (buf.length - at >= 5) {
      const length = buf.readInt32BE(at + 1);
      if (length < 4) throw new Error(`malformed message length ${length}`);
      const end = at + 1 + length;
      if (end > buf.length) break;
      onMessage(String.fromCharCode(buf[at]), buf.subarray(at, end));
      at = end;
    }
    carry = at < buf.length ? Buffer.from(buf.subarray(at)) : null;
  };
}

/** The startup packet's parameters (`user`, `database`, …) as an object. */
function startupParameters(packet) {
  const parts = packet.subarray(8).toString("utf8").split("\0");
  const params = {};
  for (let i = 0; i + 1 < parts.length && parts[i]; i += 2) params[parts[i]] = parts[i + 1];
  return params;
}

/** One authenticated backend connection; `ready` resolves once it can take queries. */
class Backend {
  client = null; // where the server's bytes go while lent out
  status = "I"; // of the last ReadyForQuery
  pending = 0; // Sync / Query / FunctionCall messages whose ReadyForQuery has not come back yet
  unsynced = false; // extended-protocol messages sent since the last Sync
  parameters = []; // ParameterStatus messages from startup, replayed to new clients
  cancelKey = null; // [pid, secret]
  closed = false;

  constructor({ host, port, params, password }) {
    this.host = host;
    this.port = port;
    this.socket = net.connect({ host, port });
    this.socket.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("Postgres did not answer in time")), CONNECT_TIMEOUT_MS);
      this.socket.once("error", reject);
      this.socket.once("close", () => reject(new Error("Postgres closed the connection during startup")));
      const entries = Object.entries(params).flatMap(([k, v]) => [cstring(k), cstring(v)]);
      this.socket.write(untypedPacket(Buffer.concat([int32s(PROTOCOL_3), ...entries, Buffer.from([0])])));
      const send = (type, body) => this.socket.write(message(type, body));
      let scram = null;
      const onStartup = framer((type, whole) => {
        const body = whole.subarray(5);
        if (type === "R") {
          const code = body.readInt32BE(0);
          const data = body.subarray(4);
          if (code === 0) return;
          if (code === 3) return send("p", cstring(password));
          if (code === 5) {
            const inner = createHash("md5")
              .update(password + params.user)
              .digest("hex");
            return send("p", cstring(`md5${createHash("md5").update(inner).update(data).digest("hex")}`));
          }
          if (code === 10) {
            scram = sasl.startSession(data.toString("utf8").split("\0").filter(Boolean));
            const response = Buffer.from(scram.response, "utf8");
            return send("p", Buffer.concat([cstring(scram.mechanism), int32s(response.length), response]));
          }
          if (code === 11) {
            return sasl
              .continueSession(scram, password, data.toString("utf8"))
              .then(() => send("p", Buffer.from(scram.response, "utf8")), reject);
          }
          if (code === 12) return sasl.finalizeSession(scram, data.toString("utf8"));
          return reject(new Error(`unsupported authentication request ${code}`));
        }
        if (type === "S") this.parameters.push(Buffer.from(whole));
        else if (type === "K") this.cancelKey = [body.readInt32BE(0), body.readInt32BE(4)];
        else if (type === "E") reject(Object.assign(new Error("Postgres refused the pooled connection"), { whole }));
        else if (type === "Z") {
          this.socket.removeAllListeners();
          let readied = false;
          const track = framer((t, m) => {
            if (t !== "Z") return;
            this.status = String.fromCharCode(m[5]);
            this.pending--;
            readied = true;
          });
          this.socket.on("data", (chunk) => {
            this.client?.(chunk);
            readied = false;
            track(chunk);
            if (readied && this.reusable) this.onIdle?.();
          });
          this.socket.on("error", () => this.destroy());
          this.socket.on("close", () => this.destroy());
          clearTimeout(timer);
          resolve(this);
        }
      });
      this.socket.on("data", (chunk) => {
        try {
          onStartup(chunk);
        } catch (error) {
          reject(error);
        }
      });
    });
    this.ready.catch(() => this.destroy());
  }

  /** A client message for the server; Sync and Query each end in one ReadyForQuery. */
  send(type, whole) {
    if (type === "S" || type === "Q" || type === "F") {
      this.pending++;
      this.unsynced = false;
    } else if (UNSYNCED.has(type)) this.unsynced = true;
    this.socket.write(whole);
  }

  /** Idle, nothing in flight: it may serve another client. */
  get reusable() {
    return !this.closed && this.status === "I" && this.pending === 0 && !this.unsynced;
  }

  /** Asks Postgres to cancel what this backend is running (a separate connection, as clients do). */
  cancel() {
    if (!this.cancelKey) return;
    const socket = net.connect({ host: this.host, port: this.port });
    socket.on("error", () => {});
    socket.end(untypedPacket(int32s(CANCEL_REQUEST, ...this.cancelKey)));
  }

  destroy() {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.onClose?.();
    this.onLost?.();
  }
}

/**
 * The pool, per target address, user and database. `credentials` maps user → password for the
 * users it pools; a client must present that password (the pooler asks for it in cleartext over
 * the local tunnel). Other users are tunnelled raw, a backend per connection.
 */
export function createPooler({ credentials, maxBackends = DEFAULT_MAX_BACKENDS }) {
  const pools = new Map(); // key → { idle: Backend[], size, waiting: resolve[], parameters }
  const all = new Set();
  const sessions = new Map(); // the cancel key handed to a client → its session
  let closed = false;
  /** Statements clients ran through the pooler (Query or Execute messages, BEGIN and COMMIT included). */
  let statements = 0;

  /** A backend: an idle one, a new one while under the cap, or the next one given back. */
  async function acquire(pool, { host, port, params }) {
    for (;;) {
      if (closed) throw new Error("the tunnel is closing");
      const backend = pool.idle.pop();
      if (backend) {
        clearTimeout(backend.idleTimer);
        if (backend.reusable) return backend;
        backend.destroy();
        continue;
      }
      if (pool.size < maxBackends) break;
      await new Promise((resolve, reject) => {
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          const i = pool.waiting.indexOf(wake);
          if (i >= 0) pool.waiting.splice(i, 1);
          reject(
            Object.assign(new Error(`no pooled Postgres connection came free within ${WAIT_TIMEOUT_MS / 1000} s`), {
              code: "53300",
            }),
          );
        }, WAIT_TIMEOUT_MS);
        pool.waiting.push(wake);
      });
    }
    pool.size++;
    const backend = new Backend({ host, port, params, password: credentials[params.user] });
    all.add(backend);
    backend.onClose = () => {
      all.delete(backend);
      pool.size--;
      const i = pool.idle.indexOf(backend);
      if (i >= 0) pool.idle.splice(i, 1);
      pool.waiting.shift()?.();
    };
    await backend.ready;
    pool.parameters ??= backend.parameters;
    return backend;
  }

  function release(pool, backend) {
    backend.client = null;
    backend.onLost = null;
    backend.onIdle = null;
    if (closed || !backend.reusable) return backend.destroy();
    backend.idleTimer = setTimeout(() => backend.destroy(), IDLE_TIMEOUT_MS);
    backend.idleTimer.unref?.();
    pool.idle.push(backend);
    pool.waiting.shift()?.();
  }

  /**
   * Serves one client connection: `send(bytes)` writes to it, `close(code)` ends it. Returns
   * `onData` for the client's bytes and `onClose` for when it goes away.
   */
  function serve({ host, port, send, close }) {
    let state = "startup";
    let startupBytes = Buffer.alloc(0);
    let raw = null; // a plain TCP pipe, for what the pool does not handle
    let pool = null;
    let params = null;
    let backend = null; // lent for the current transaction
    let acquiring = false;
    const queued = []; // client messages waiting for a backend
    const early = []; // messages sent right after the password (pipelined connect)
    let ended = false;
    const cancelKey = `${randomInt(1, 2 ** 31 - 1)}:${randomInt(0, 2 ** 31 - 1)}`;

    const fail = (error) => {
      if (ended) return;
      send(
        error?.whole ?? errorResponse(error?.code ?? "08006", error instanceof Error ? error.message : String(error)),
      );
      end();
      close(1011);
    };

    const giveBack = () => {
      const b = backend;
      backend = null;
      if (b) release(pool, b);
    };

    const lend = (b) => {
      backend = b;
      b.client = send;
      b.onLost = () => {
        backend = null;
        fail(new Error("the Postgres backend closed"));
      };
      // The transaction (or lone statement) is over: the backend goes back to the pool.
      b.onIdle = giveBack;
      for (const [type, whole] of queued.splice(0)) b.send(type, whole);
    };

    const end = () => {
      if (ended) return;
      ended = true;
      sessions.delete(cancelKey);
      raw?.destroy();
      giveBack(); // destroyed instead if it is inside a transaction or mid-query
    };

    const fromClient = (type, whole) => {
      // A simple Query or an extended-protocol Execute is one statement run for the client.
      if (type === "Q" || type === "E") statements += 1;
      if (type === "X") {
        end();
        close(1000);
        return;
      }
      if (backend) return backend.send(type, whole);
      queued.push([type, whole]);
      if (acquiring) return;
      acquiring = true;
      acquire(pool, { host, port, params }).then(
        (b) => {
          acquiring = false;
          if (ended) return release(pool, b);
          lend(b);
        },
        (error) => {
          acquiring = false;
          fail(error);
        },
      );
    };

    const passthrough = (initial) => {
      state = "raw";
      raw = net.connect({ host, port });
      raw.setNoDelay(true);
      raw.write(initial);
      raw.on("data", (chunk) => send(chunk));
      raw.on("close", () => close(1000));
      raw.on("error", () => close(1011));
    };

    const welcome = () => {
      const [pid, secret] = cancelKey.split(":").map(Number);
      sessions.set(cancelKey, { cancel: () => backend?.cancel() });
      send(
        Buffer.concat([
          message("R", int32s(0)),
          ...pool.parameters,
          message("K", int32s(pid, secret)),
          message("Z", Buffer.from("I")),
        ]),
      );
      state = "ready";
      for (const whole of early.splice(0)) fromClient(String.fromCharCode(whole[0]), whole);
    };

    const onPassword = (type, whole) => {
      const given = whole.subarray(5, whole.length - 1).toString("utf8");
      if (type !== "p" || given !== credentials[params.user]) {
        send(errorResponse("28P01", `password authentication failed for user "${params.user}"`));
        end();
        close(1000);
        return;
      }
      state = "welcoming";
      const key = JSON.stringify([host, port, Object.entries(params).sort()]);
      if (!pools.has(key)) pools.set(key, { idle: [], size: 0, waiting: [], parameters: null });
      pool = pools.get(key);
      if (pool.parameters) return welcome();
      // The first client of this pool waits for a backend, whose startup parameters it replays.
      acquire(pool, { host, port, params }).then((b) => {
        release(pool, b);
        if (!ended) welcome();
      }, fail);
    };

    // Every message after the startup packet: the password, then the session's traffic.
    const afterStartup = framer((type, whole) => {
      if (ended) return;
      if (state === "ready") return fromClient(type, whole);
      if (state === "password") return onPassword(type, whole);
      early.push(whole); // state "welcoming"
    });

    function onData(chunk) {
      if (ended) return;
      try {
        if (state === "raw") return raw.write(chunk);
        if (state !== "startup") return afterStartup(chunk);
        startup(chunk);
      } catch (error) {
        // Malformed input: refuse it rather than guess where the next message starts.
        send(errorResponse("08P01", error instanceof Error ? error.message : String(error)));
        end();
        close(1002);
      }
    }

    function startup(chunk) {
      startupBytes = Buffer.concat([startupBytes, chunk]);
      while (state === "startup" && startupBytes.length >= 8) {
        const length = startupBytes.readInt32BE(0);
        if (length < 8 || length > 10_000) throw new Error(`malformed startup packet length ${length}`);
        if (startupBytes.length < length) return;
        const packet = startupBytes.subarray(0, length);
        const code = packet.readInt32BE(4);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          startupBytes = startupBytes.subarray(length);
          send(Buffer.from("N"));
          continue;
        }
        if (code === CANCEL_REQUEST) {
          if (length !== 16) throw new Error("malformed cancel request");
          const ours = sessions.get(`${packet.readInt32BE(8)}:${packet.readInt32BE(12)}`);
          if (!ours) return passthrough(startupBytes);
          ours.cancel();
          state = "done";
          close(1000);
          return;
        }
        if (code !== PROTOCOL_3) return passthrough(startupBytes);
        params = startupParameters(packet);
        params.database ??= params.user;
        if (!Object.hasOwn(credentials, params.user)) return passthrough(startupBytes);
        const rest = startupBytes.subarray(length);
        state = "password";
        send(message("R", int32s(3)));
        if (rest.length) afterStartup(rest);
      }
    }

    return { onData, onClose: end };
  }

  return {
    serve,
    /** Closes every backend, idle or lent out. */
    close() {
      closed = true;
      for (const backend of [...all]) backend.destroy();
      for (const pool of pools.values()) for (const wake of pool.waiting.splice(0)) wake();
    },
    get stats() {
      let idle = 0;
      let waiting = 0;
      for (const pool of pools.values()) {
        idle += pool.idle.length;
        waiting += pool.waiting.length;
      }
      return { backends: all.size, idle, waiting, statements };
    },
  };
}
