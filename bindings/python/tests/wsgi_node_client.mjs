// The npm socket.io-client against a socketio_rs.WSGIApp (tests/test_wsgi.py):
//
//   node wsgi_node_client.mjs <node_modules dir> <url> <transports as JSON>
//
// Connects with auth, checks the server's `hello`, an `echo` acknowledgement
// with binary, the server asking the client (`ask` → `question`), and
// prints one JSON line: {"ok": true, "transport": ...} or {"ok": false,
// "error": ...}. Gives up after 15 s.

import { createRequire } from "node:module";
import { isDeepStrictEqual } from "node:util";
import path from "node:path";

const [modules, url, transportsJson] = process.argv.slice(2);
const require = createRequire(path.join(modules, "noop.js"));
const { io } = require("socket.io-client");

function done(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
  process.exit(obj.ok ? 0 : 1);
}

setTimeout(() => done({ ok: false, error: "timeout" }), 15000).unref();

const transports = JSON.parse(transportsJson);
const socket = io(url, {
  transports: transports ?? undefined,
  auth: { who: "node" },
  reconnection: false,
});

const hello = new Promise((resolve) => socket.once("hello", resolve));
socket.on("question", (q, ack) => ack(`answer:${q}`));
socket.on("connect_error", (e) => done({ ok: false, error: `connect_error: ${e.message}` }));

socket.on("connect", async () => {
  try {
    const h = await hello;
    if (!isDeepStrictEqual(h.auth, { who: "node" }) || !Buffer.from(h.bin).equals(Buffer.from([255, 0]))) {
      return done({ ok: false, error: `hello: ${JSON.stringify(h)}` });
    }
    const data = { bin: Buffer.alloc(3000, 7), text: "ü".repeat(50), n: [1, 2] };
    const back = await socket.timeout(5000).emitWithAck("echo", data);
    if (!Buffer.from(back.bin).equals(data.bin) || back.text !== data.text || !isDeepStrictEqual(back.n, data.n)) {
      return done({ ok: false, error: "echo mismatch" });
    }
    const answer = await socket.timeout(5000).emitWithAck("ask", "q");
    if (answer !== "answer:q") {
      return done({ ok: false, error: `ask: ${answer}` });
    }
    if (transports === null && socket.io.engine.transport.name !== "websocket") {
      await new Promise((resolve) => socket.io.engine.once("upgrade", resolve));
    }
    const transport = socket.io.engine.transport.name;
    socket.disconnect();
    setTimeout(() => done({ ok: true, transport }), 100);
  } catch (e) {
    done({ ok: false, error: String(e?.stack ?? e) });
  }
});
