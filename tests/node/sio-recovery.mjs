// Connection state recovery seen from the official client: the transport is
// killed, the server emits while the client is away, and the client reports
// what it received and whether the session was recovered.
// usage: node sio-recovery.mjs <url> <reconnectDelayMs>
import { io } from "socket.io-client";

const [url, delayArg] = process.argv.slice(2);
const delay = Number(delayArg ?? 100);
const fail = (msg) => {
  console.error(msg);
  process.exit(1);
};
setTimeout(() => fail("timeout"), 8000).unref();

const socket = io(url, {
  transports: ["websocket"],
  reconnectionDelay: delay,
  reconnectionDelayMax: delay,
  randomizationFactor: 0,
});
const received = [];
let firstId = null;
let connects = 0;
socket.on("tick", (n) => {
  received.push(n);
  if (n === 2) {
    // Kill the transport: the client sees "transport close" and reconnects.
    socket.io.engine.close();
  }
});
socket.on("connect", () => {
  connects += 1;
  if (connects === 1) {
    firstId = socket.id;
    socket.emit("ready");
  } else {
    socket.emit("back", () => {
      console.log(
        JSON.stringify({ received, recovered: socket.recovered, sameId: socket.id === firstId }),
      );
      socket.close();
      process.exit(0);
    });
  }
});
socket.on("connect_error", (e) => fail(`connect_error ${e.message}`));
