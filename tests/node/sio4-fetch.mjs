// One client for fetchSockets / rooms tests: connects with auth
// {name, token: "tok-<name>"}, joins the given rooms through the "join" event
// (acked with its socket id), records every event, and prints what it saw as
// JSON once the server disconnects it or sends "bye".
// usage: node sio4-fetch.mjs <url> <name> <room,room,...>
import { io } from "socket.io-client";

const [url, name, roomsArg] = process.argv.slice(2);
const rooms = roomsArg ? roomsArg.split(",") : [];
const fail = (msg) => {
  console.error(msg);
  process.exit(1);
};
setTimeout(() => fail("timeout"), 8000).unref();

const socket = io(url, {
  transports: ["websocket"],
  reconnection: false,
  auth: { name, token: `tok-${name}` },
});
const report = { name, id: null, joinedAs: null, events: [], disconnect: null };
let finished = false;
const finish = () => {
  if (finished) return;
  finished = true;
  console.log(JSON.stringify(report));
  socket.close();
  process.exit(0);
};
socket.onAny((event, ...args) => report.events.push([event, ...args]));
socket.on("connect", () => {
  report.id = socket.id;
  socket.emit("join", rooms, (id) => {
    report.joinedAs = id;
  });
});
socket.on("bye", finish);
socket.on("disconnect", (reason) => {
  report.disconnect = reason;
  finish();
});
socket.on("connect_error", (e) => fail(`connect_error ${e.message}`));
