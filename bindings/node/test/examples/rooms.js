// Rooms, as in socket.io's "Rooms" page: join, broadcast to a room from the
// server and from a socket, leave.
const { Server } = require("socket.io");
const { io } = require("socket.io-client");

const server = new Server(0);
const port = server.httpServer.address().port;

server.on("connection", (socket) => {
  socket.on("join", (room, callback) => {
    socket.join(room);
    callback();
  });
  socket.on("leave", (room, callback) => {
    socket.leave(room);
    callback();
  });
  socket.on("say", (room, text) => {
    // to everyone in the room except the sender
    socket.to(room).emit("said", `${socket.handshake.auth.name}: ${text}`);
  });
  socket.on("announce", (room, text, callback) => {
    server.to(room).emit("announcement", text);
    callback();
  });
});

const lines = [];
const clients = ["ann", "ben", "cid"].map((name) => {
  const socket = io(`http://localhost:${port}`, { forceNew: true, auth: { name } });
  socket.on("said", (msg) => lines.push(`${name} <- ${msg}`));
  socket.on("announcement", (msg) => lines.push(`${name} <- [${msg}]`));
  return socket;
});
const [ann, ben, cid] = clients;

async function main() {
  await Promise.all(clients.map((c) => new Promise((resolve) => c.on("connect", resolve))));
  await ann.emitWithAck("join", "lobby");
  await ben.emitWithAck("join", "lobby");
  await cid.emitWithAck("join", "games");
  ann.emit("say", "lobby", "hello lobby");
  await ann.emitWithAck("announce", "games", "games start soon");
  await ben.emitWithAck("leave", "lobby");
  await ann.emitWithAck("announce", "lobby", "lobby closes");
  await new Promise((resolve) => setTimeout(resolve, 200));
  console.log(lines.sort().join("\n"));
  clients.forEach((c) => c.disconnect());
  server.close();
}
main();
