// Drives a server with the real npm `engine.io-client`.
//
//   node tests/node/eio-client.mjs <base url> <scenario> [options as JSON]
//
// Prints one JSON object per line ({"event": ...}) for the Rust test to assert
// on, and exits non-zero (after a {"event":"fail"} line) when an expectation of
// the scenario itself is not met or the overall timeout passes.
//
// Options: transports (default ["polling", "websocket"]), upgrade (default
// false), path (default "/engine.io"), timeout (ms, default 10000), plus the
// scenario's own (see below).

import { Socket } from "engine.io-client";

const [url, scenario, optionsJson] = process.argv.slice(2);
if (!url || !scenario) {
  console.error("usage: eio-client.mjs <url> <scenario> [options-json]");
  process.exit(2);
}
const options = optionsJson ? JSON.parse(optionsJson) : {};

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function fail(message) {
  out({ event: "fail", message });
  process.exit(1);
}

const overall = setTimeout(
  () => fail(`scenario ${scenario} timed out`),
  options.timeout ?? 10000,
);

const CLOSED = Symbol("closed");

/** Opens a client and collects what it hears. */
function open(extra = {}) {
  const socket = new Socket(url, {
    transports: options.transports ?? ["polling", "websocket"],
    upgrade: options.upgrade ?? false,
    path: options.path ?? "/engine.io",
    ...extra,
  });
  const inbox = [];
  const waiters = [];
  let closed = null;
  const closeWaiters = [];
  socket.on("message", (data) => {
    // engine.io-parser decodes the empty message "4" as no data at all.
    if (data === undefined) data = "";
    const w = waiters.shift();
    if (w) w(data);
    else inbox.push(data);
  });
  socket.on("close", (reason, description) => {
    closed = { reason, description: describe(description) };
    out({ event: "close", ...closed });
    closeWaiters.splice(0).forEach((w) => w(closed));
    waiters.splice(0).forEach((w) => w(CLOSED));
  });
  socket.on("error", (err) => out({ event: "error", message: String(err) }));
  socket.on("handshake", (data) => out({ event: "handshake", data }));
  socket.on("upgrade", (transport) =>
    out({ event: "upgrade", transport: transport.name }),
  );
  socket.on("upgradeError", (err) =>
    out({ event: "upgradeError", message: String(err) }),
  );

  const opened = new Promise((resolve, reject) => {
    socket.once("open", () => {
      out({ event: "open", transport: socket.transport.name, sid: socket.id });
      resolve();
    });
    socket.once("close", (reason) => reject(new Error(`closed before open: ${reason}`)));
  });

  return {
    socket,
    opened,
    /** The next message, failing after `ms`. */
    next(ms = 3000) {
      if (inbox.length) return Promise.resolve(inbox.shift());
      if (closed) return Promise.reject(new Error("socket closed"));
      return withTimeout(
        new Promise((resolve) => waiters.push(resolve)).then((m) => {
          if (m === CLOSED) throw new Error("socket closed while waiting for a message");
          return m;
        }),
        ms,
        "message",
      );
    },
    /** Resolves with {reason, description} once the socket closes. */
    closed(ms = 3000) {
      if (closed) return Promise.resolve(closed);
      return withTimeout(
        new Promise((resolve) => closeWaiters.push(resolve)),
        ms,
        "close",
      );
    },
    pending: () => inbox.length,
  };
}

function describe(d) {
  if (d === undefined || d === null) return null;
  if (d instanceof Error) return d.message;
  if (typeof d === "object") {
    return d.description !== undefined ? String(d.description?.message ?? d.description) : String(d);
  }
  return String(d);
}

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

function sameBytes(a, b) {
  return Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

/** Sends `payload`, expects it echoed unchanged, reports it. */
async function echo(c, kind, payload, expected) {
  c.socket.send(payload);
  const got = await c.next();
  if (typeof expected === "string") {
    if (got !== expected) {
      fail(`${kind}: sent ${JSON.stringify(expected)}, got back ${JSON.stringify(got)}`);
    }
    out({ event: "echo", kind, transport: c.socket.transport.name, text: got });
  } else {
    if (!Buffer.isBuffer(got)) fail(`${kind}: expected a Buffer back, got ${typeof got}`);
    if (!sameBytes(got, expected)) {
      fail(`${kind}: sent [${[...expected]}], got back [${[...got]}]`);
    }
    out({ event: "echo", kind, transport: c.socket.transport.name, bytes: [...got] });
  }
}

async function echoAll(c, tag) {
  await echo(c, `text-${tag}`, `hello ${tag}`, `hello ${tag}`);
  await echo(c, `unicode-${tag}`, "héllo wörld ✓ 😀", "héllo wörld ✓ 😀");
  await echo(c, `empty-${tag}`, "", "");
  const bytes = [0, 1, 2, 127, 128, 254, 255];
  await echo(c, `buffer-${tag}`, Buffer.from(bytes), bytes);
  await echo(c, `arraybuffer-${tag}`, new Uint8Array([10, 20, 30]).buffer, [10, 20, 30]);
  await echo(c, `uint8array-${tag}`, new Uint8Array([4, 3, 2, 1]), [4, 3, 2, 1]);
  await echo(c, `empty-binary-${tag}`, Buffer.alloc(0), []);
}

const scenarios = {
  /** Echo of text and binary, then client close. */
  async echo() {
    const c = open();
    await c.opened;
    await echoAll(c, "a");
    finish(c);
  },

  /** Echo over polling, upgrade to websocket, echo again, then close. */
  async upgrade() {
    const c = open({ upgrade: true });
    const upgraded = new Promise((resolve) => c.socket.once("upgrade", resolve));
    await c.opened;
    if (c.socket.transport.name !== "polling") fail("did not start on polling");
    await echo(c, "before-upgrade", "before", "before");
    await withTimeout(upgraded, 3000, "upgrade");
    if (c.socket.transport.name !== "websocket") {
      fail(`transport after upgrade is ${c.socket.transport.name}`);
    }
    await echoAll(c, "after");
    finish(c);
  },

  /** A message of `under` chars is echoed; one of `over` chars ends the session. */
  async "max-payload"() {
    const c = open();
    await c.opened;
    const small = "a".repeat(options.under);
    await echo(c, "under-limit", small, small);
    c.socket.send("b".repeat(options.over));
    const closed = await c.closed();
    if (c.pending() !== 0) fail("the oversized message was echoed");
    out({ event: "oversized-closed", reason: closed.reason });
    done();
  },

  /** Stays connected across `pings` server pings, then closes. */
  async heartbeat() {
    const c = open();
    let pings = 0;
    const enough = new Promise((resolve) =>
      c.socket.on("ping", () => {
        pings += 1;
        out({ event: "ping", count: pings, transport: c.socket.transport.name });
        if (pings === options.pings) resolve();
      }),
    );
    await c.opened;
    await withTimeout(enough, options.pings * 1000 + 2000, `${options.pings} pings`);
    if (c.socket.readyState !== "open") fail(`readyState ${c.socket.readyState}`);
    await echo(c, "after-pings", "still here", "still here");
    finish(c);
  },

  /** Asks the server to close (it says "bye" first); reports the close. */
  async "server-close"() {
    const c = open();
    await c.opened;
    c.socket.send("cmd:close");
    const bye = await c.next();
    if (bye !== "bye") fail(`expected "bye" before the close, got ${JSON.stringify(bye)}`);
    out({ event: "bye" });
    await c.closed();
    done();
  },

  /** Opens and closes at once. */
  async "client-close"() {
    const c = open();
    await c.opened;
    finish(c);
  },
};

function finish(c) {
  // The close event fires synchronously for a client close; the transport
  // still sends its close (a POST of "1" or a WebSocket close frame).
  c.socket.close();
  done();
}

/** Success: the process ends once every connection has wound down. */
function done() {
  clearTimeout(overall);
  out({ event: "done" });
  setTimeout(() => {
    out({ event: "fail", message: "connections still open 3 s after the scenario ended" });
    process.exit(3);
  }, 3000).unref();
}

const run = scenarios[scenario];
if (!run) fail(`unknown scenario ${scenario}`);
run().catch((err) => fail(err?.stack ?? String(err)));
