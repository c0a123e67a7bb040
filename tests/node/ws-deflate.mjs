// An Engine.IO WebSocket session with the npm `ws` client, offering
// permessage-deflate or not, that sends a large and a small message and
// waits for the server's echo of each.
//
//   node tests/node/ws-deflate.mjs <ws url> <offer: true|false>
//
// Prints {"extensions": ..., "echoed": [...]} on success; exits non-zero on
// a mismatch or after 10 s.

import WebSocket from "ws";

const [url, offer] = process.argv.slice(2);
const big = "4" + "socket.io ".repeat(600);
const small = "4hi";
setTimeout(() => {
  console.error("timed out");
  process.exit(1);
}, 10000).unref();

const ws = new WebSocket(url, { perMessageDeflate: offer === "true" });
const echoed = [];
ws.on("message", (data) => {
  const text = data.toString();
  if (text.startsWith("0")) {
    ws.send(big);
    ws.send(small);
    return;
  }
  if (text === "2") return ws.send("3");
  echoed.push(text.length);
  if (echoed.length === 2) {
    const ok = echoed[0] === big.length && echoed[1] === small.length;
    console.log(JSON.stringify({ extensions: ws.extensions, echoed }));
    ws.close();
    process.exit(ok ? 0 : 1);
  }
});
ws.on("error", (e) => {
  console.error(e.message);
  process.exit(1);
});
