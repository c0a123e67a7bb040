// The npm socket.io-client 4.8 as the Admin UI drives a C server
// instrumented through the C API (tests/c/test_admin.c).
//
//   node tests/node/capi-admin-client.mjs <base url> <mode>
//
// mode "basic": the server logs UIs in with username "admin" and the
// password "s3cret!" (bcrypt), in development mode, as server "c-1" with
// server_stats every 300 ms; a user socket on "/" (auth {user: "bob"}) is
// listed, joined to a room and disconnected by the UI.
// mode "check": the server's C check lets in {token: "ok"} only, on
// "/ops", read-only and in production mode.
//
// Prints "ok - <step>" per step; exits 0 when all passed, 1 at the first
// failure or after 30 s.

import { io } from "socket.io-client";
import { isDeepStrictEqual } from "node:util";

const [url, mode] = process.argv.slice(2);
if (!url || !mode) {
  console.error("usage: capi-admin-client.mjs <url> basic|check");
  process.exit(2);
}

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
  if (!isDeepStrictEqual(got, want)) fail(step, `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  ok(step);
}

function expect(step, cond, detail) {
  if (!cond) fail(step, JSON.stringify(detail));
  ok(step);
}

/** A socket recording every event from its first packet on. */
function connect(nsp, auth) {
  const s = io(url + nsp, { transports: ["websocket"], forceNew: true, reconnection: false, auth });
  s.seen = [];
  s.onAny((event, ...args) => s.seen.push([event, args]));
  return s;
}

/** The first `event` whose arguments pass `pred`, waiting up to `ms`. */
async function received(s, event, pred = () => true, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const hit = s.seen.find(([e, a]) => e === event && pred(a));
    if (hit) return hit[1];
    if (Date.now() > end) throw new Error(`no ${event} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** "connect" or the connect_error's message. */
function outcome(s) {
  return new Promise((resolve) => {
    s.once("connect", () => resolve("connect"));
    s.once("connect_error", (e) => resolve(e.message));
  });
}

const sockets = [];
function track(s) {
  sockets.push(s);
  return s;
}

if (mode === "basic") {
  const user = track(connect("/", { user: "bob" }));
  expectEqual("user connects", await outcome(user), "connect");
  const uid = user.id;

  for (const auth of [{ username: "admin", password: "nope" }, { username: "root", password: "s3cret!" }, {}]) {
    expectEqual(`refused ${JSON.stringify(auth)}`, await outcome(track(connect("/admin", auth))), "invalid credentials");
  }

  const ui = track(connect("/admin", { username: "admin", password: "s3cret!" }));
  expectEqual("UI logs in", await outcome(ui), "connect");
  const [session] = await received(ui, "session");
  expect("session id", /^[0-9a-f]{16}$/.test(session), session);
  const [config] = await received(ui, "config");
  expectEqual("config", config.supportedFeatures.includes("ALL_EVENTS") && config.supportedFeatures.includes("DISCONNECT"), true);
  const [all] = await received(ui, "all_sockets");
  const mine = all.find((s) => s.id === uid);
  expect("all_sockets lists the user", mine && mine.nsp === "/" && mine.transport === "websocket", all);
  expectEqual("socket shape", Object.keys(mine).sort(), ["clientId", "data", "handshake", "id", "nsp", "rooms", "transport"]);
  expectEqual("socket data set in C", mine.data, { role: "user" });

  const [stats] = await received(ui, "server_stats");
  expectEqual("server_stats shape", Object.keys(stats).sort(), [
    "aggregatedEvents", "clientsCount", "hostname", "namespaces", "pid", "pollingClientsCount", "serverId", "uptime",
  ]);
  expectEqual("server id", stats.serverId, "c-1");
  const start = Date.now();
  const count = ui.seen.filter(([e]) => e === "server_stats").length;
  await received(ui, "server_stats", () => ui.seen.filter(([e]) => e === "server_stats").length > count + 2, 3000);
  expect("server_stats every 300 ms", Date.now() - start < 2000, Date.now() - start);

  const again = track(connect("/admin", { sessionId: session }));
  expectEqual("the session id logs in again", await outcome(again), "connect");

  ui.emit("join", "/", "vip", uid);
  await received(ui, "room_joined", ([, room, id]) => room === "vip" && id === uid);
  ok("the UI joins the user to a room");
  const kicked = new Promise((resolve) => user.once("disconnect", resolve));
  ui.emit("_disconnect", "/", false, uid);
  expectEqual("the UI disconnects the user", await kicked, "io server disconnect");
  const [nsp, id, reason] = await received(ui, "socket_disconnected", ([, i]) => i === uid);
  expectEqual("socket_disconnected", [nsp, id, reason], ["/", uid, "server namespace disconnect"]);
} else if (mode === "check") {
  for (const auth of [{ token: "no" }, undefined]) {
    expectEqual(`refused ${JSON.stringify(auth)}`, await outcome(track(connect("/ops", auth))), "invalid credentials");
  }
  const ui = track(connect("/ops", { token: "ok" }));
  expectEqual("UI logs in", await outcome(ui), "connect");
  const [config] = await received(ui, "config");
  expectEqual("read-only production config", config, { supportedFeatures: ["AGGREGATED_EVENTS"] });
  await received(ui, "server_stats");
  ok("server_stats");
  expect("no all_sockets in production", !ui.seen.some(([e]) => e === "all_sockets"), ui.seen);
} else {
  fail("mode", mode);
}

for (const s of sockets) s.disconnect();
process.exit(0);
