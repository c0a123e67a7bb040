// The npm socket.io-client 4.8 against the C test server of tests/c
// (test_server.c, built on the C API of libsocketio).
//
//   node tests/node/capi-client.mjs <base url> [transport]
//
// Runs one scripted conversation, step by step, and prints a line per step
// ("ok - <step>" or "not ok - <step>: <why>"). Exits 0 when every step
// passed, 1 at the first failure or after 30 s. `transport` is "websocket"
// for WebSocket only; by default polling first, then the upgrade.
//
// What the C server does for each event is described in test_server.c; the
// two sides must agree on names and payloads.

import { io } from "socket.io-client";
import { isDeepStrictEqual } from "node:util";

const [url, transport] = process.argv.slice(2);
if (!url) {
  console.error("usage: capi-client.mjs <url> [transport]");
  process.exit(2);
}
const transports = transport === "websocket" ? ["websocket"] : ["polling", "websocket"];

function fail(step, why) {
  console.log(`not ok - ${step}: ${why}`);
  process.exit(1);
}
setTimeout(() => fail("overall", "timeout after 30 s"), 30000).unref();
process.on("unhandledRejection", (e) => fail("unhandled rejection", e?.stack ?? e));

function ok(step) {
  console.log(`ok - ${step}`);
}

function expectEqual(step, got, want) {
  if (!isDeepStrictEqual(got, want)) {
    fail(step, `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
  ok(step);
}

/** The next `event` on `socket`, as its argument list. */
function next(socket, event, ms = 8000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    socket.once(event, (...args) => {
      clearTimeout(t);
      resolve(args);
    });
  });
}

/** Resolves with true if `event` arrives within `ms`, else false. */
function arrives(socket, event, ms) {
  return next(socket, event, ms).then(
    () => true,
    () => false,
  );
}

function connect(nsp, auth) {
  return io(url + nsp, { transports, forceNew: true, reconnection: false, auth });
}

// 1. Connection: the server greets with text, a buffer and an object.
const a = connect("/", { name: "a" });
const welcome = next(a, "welcome");
await next(a, "connect").catch((e) => fail("connect", e.message));
ok("connect");
const [hello, buf, obj] = await welcome.catch((e) => fail("welcome", e.message));
expectEqual("welcome text", hello, "hello");
expectEqual("welcome buffer", Buffer.from(buf).toString("hex"), "deadbeef");
expectEqual("welcome object", obj, { n: 1, id: a.id });

// 2. Acknowledgements from the server: echoed arguments, binary included.
const echoed = await a.timeout(8000).emitWithAck("echo", "hi", { a: [1, 2.5, null] }, Buffer.from([1, 2, 3]));
expectEqual("ack echoes the first argument", echoed, "hi");
const all = await new Promise((resolve) =>
  a.emit("echo", "x", { nested: { b: Buffer.from([9]) } }, (...args) => resolve(args)),
);
expectEqual("ack echoes every argument, nested buffers too", [all[0], Buffer.from(all[1].nested.b).toString("hex")], ["x", "09"]);

// 3. Acknowledgements to the server: it asks, we answer, it reports.
a.on("question", (n, cb) => cb(n * 6));
const answer = next(a, "answer");
a.emit("ask-me", 7);
expectEqual("server emit_with_ack completes", (await answer)[0], 42);

// 4. Rooms and broadcasts: b joins, a sends to the room, only b hears.
const b = connect("/", { name: "b" });
await next(b, "connect");
b.on("question", (n, cb) => cb(n * 6));
expectEqual("join acked", await a.timeout(8000).emitWithAck("join", "r1"), "joined r1");
expectEqual("join acked (b)", await b.timeout(8000).emitWithAck("join", "r1"), "joined r1");
const roomMsg = next(b, "room-msg");
const echoToSelf = arrives(a, "room-msg", 300);
a.emit("to-room", "r1", "psst");
expectEqual("room broadcast reaches the other member", await roomMsg, ["psst", a.id]);
expectEqual("room broadcast skips the sender", await echoToSelf, false);

// 5. fetchSockets and the synchronous count.
expectEqual("fetch_sockets", await a.timeout(8000).emitWithAck("count"), { fetched: 2, count: 2, rooms: true });

// 6. Broadcast with acknowledgements: every socket votes.
a.on("vote", (cb) => cb("yes-a"));
b.on("vote", (cb) => cb("yes-b"));
expectEqual("broadcast emit_with_ack", await a.timeout(8000).emitWithAck("poll"), { replies: 2, missing: 0, yes: 2 });

// 7. Middleware: refused with message and data, or let through.
const bad = connect("/private", { token: "bad" });
const [err] = await next(bad, "connect_error").catch((e) => fail("middleware refusal", e.message));
expectEqual("middleware refusal message", err.message, "forbidden");
expectEqual("middleware refusal data", err.data, { code: 403, why: "bad token" });
bad.close();
const good = connect("/private", { token: "good" });
await next(good, "connect").catch((e) => fail("middleware accepts", e.message));
ok("middleware accepts");
expectEqual("handshake seen by the server", await good.timeout(8000).emitWithAck("whoami"), { token: true, nsp: "/private" });
good.close();

// 8. Errors of the C API reach the caller as status and message.
const [status, message] = await new Promise((resolve) => a.emit("bad-emit", (...r) => resolve(r)));
expectEqual("bad JSON is SIO_ERR_INVALID_ARGUMENT", status, -1);
if (!/invalid JSON/.test(message)) fail("error message", message);
ok("error message");

// 9. The server disconnects b (from a cloned handle, freed in the callback).
const bGone = next(b, "disconnect");
b.emit("kick-me");
expectEqual("server namespace disconnect", (await bGone)[0], "io server disconnect");

// 10. Counters of the catch-all listener and the disconnect callbacks.
const stats = await a.timeout(8000).emitWithAck("stats");
if (!(stats.any >= 8 && stats.disconnects >= 1 && stats.connections >= 3)) {
  fail("stats", JSON.stringify(stats));
}
ok("stats");

// 11. Goodbye: the server closes itself; we see the transport close.
const aGone = next(a, "disconnect");
a.emit("bye");
const [reason] = await aGone.catch((e) => fail("server close", e.message));
if (reason !== "transport close" && reason !== "io server disconnect") fail("server close", reason);
ok("server close");
process.exit(0);
