// Acknowledgements, as in socket.io's "Emitting events" page: a callback as
// last argument, emitWithAck, and timeouts, both ways.
const { Server } = require("socket.io");
const { io } = require("socket.io-client");

const server = new Server(0);
const port = server.httpServer.address().port;

server.on("connection", (socket) => {
  socket.on("update item", (arg1, arg2, callback) => {
    console.log(`server: update item ${arg1} ${JSON.stringify(arg2)}`);
    callback({ status: "ok" });
  });

  socket.on("your turn", async () => {
    const answer = await socket.timeout(5000).emitWithAck("question", "how are you?");
    console.log(`server: client answered ${answer}`);

    socket.timeout(100).emit("ignored", (err) => {
      console.log(`server: ${err ? err.message : "no error"}`);
      socket.emit("done");
    });
  });
});

const socket = io(`http://localhost:${port}`);
socket.on("question", (question, callback) => {
  callback("fine, thanks");
});
socket.on("ignored", () => {});
socket.on("connect", () => {
  socket.emit("update item", "1", { name: "updated" }, async (response) => {
    console.log(`client: ${response.status}`);
    const again = await socket.emitWithAck("update item", "2", { name: "again" });
    console.log(`client: ${again.status} again`);
    socket.emit("your turn");
  });
});
socket.on("done", () => {
  socket.disconnect();
  server.close();
});
