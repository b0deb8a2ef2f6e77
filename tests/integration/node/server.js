// A Node `ws` echo server with permessage-deflate, for wsline's interop tests.
//
// Usage: node server.js   (listens on 127.0.0.1, an ephemeral port)
// Prints "listening <port>" on stdout once ready; exits when stdin closes, so
// the test that started it never leaves it behind.
//
// The request path picks the server's permessage-deflate configuration:
//   /echo            ws defaults (accepts the client's first offer), compresses every message
//   /strict-client   asks the client to reset its context and use a 9-bit window;
//                    the server resets its own and uses a 10-bit window
//   /plain           no compression at all
//   /bomb?size=N     sends one message of N zero bytes (compressed, so tiny on the wire),
//                    then echoes
// Every route echoes messages with their type (text stays text).
'use strict';

const http = require('http');
const { WebSocketServer } = require('ws');

const ROUTES = {
  '/echo': { threshold: 0 },
  '/strict-client': {
    threshold: 0,
    clientNoContextTakeover: true,
    serverNoContextTakeover: true,
    clientMaxWindowBits: 9,
    serverMaxWindowBits: 10,
  },
  '/plain': false,
  '/bomb': { threshold: 0, zlibDeflateOptions: { level: 9 } },
};

const servers = {};
for (const [path, perMessageDeflate] of Object.entries(ROUTES)) {
  // maxPayload 0: no limit, so the client's own limits are what the tests see.
  servers[path] = new WebSocketServer({ noServer: true, perMessageDeflate, maxPayload: 0 });
}

function echo(socket) {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  socket.on('error', () => socket.terminate());
}

const httpServer = http.createServer((req, res) => {
  res.writeHead(404);
  res.end();
});

httpServer.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url, 'http://localhost');
  const wss = servers[url.pathname];
  if (!wss) {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    if (url.pathname === '/bomb') {
      ws.send(Buffer.alloc(Number(url.searchParams.get('size') || 0)), { binary: true, compress: true });
    }
    echo(ws);
  });
});

httpServer.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${httpServer.address().port}\n`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
