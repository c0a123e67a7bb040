"""``AsyncServer.attach(app)`` for aiohttp applications, as python-socketio's
aiohttp mode: the Socket.IO path's routes hand long-polling requests to the
Rust Engine.IO service in-process; a WebSocket upgrade hands its TCP
connection over to the Rust server, which owns it from then on (no message
passes through Python). Upgrades that cannot be handed over (TLS, a Unix
socket, an aiohttp that keeps what followed the request elsewhere) are
relayed message by message instead."""

import asyncio
import os
import socket

from ._base import next_token

_SKIPPED = ('content-length', 'transfer-encoding', 'connection')


def attach(sio, app, socketio_path='socket.io'):
    """Adds the GET, POST and OPTIONS routes of ``/socketio_path/`` to the
    aiohttp ``app``, served by ``sio`` (an ``AsyncServer``)."""
    try:
        from aiohttp import web
    except ImportError as e:  # pragma: no cover - aiohttp is the caller's
        raise TypeError('attach() takes an aiohttp web.Application') from e
    if not isinstance(app, web.Application):
        raise TypeError('attach() takes an aiohttp web.Application, '
                        f'not {type(app).__name__}; use socketio_rs.ASGIApp for ASGI')
    path = socketio_path.strip('/')
    handler = _Handler(sio, path)

    async def handle(request):
        return await handler(request)

    for method in ('GET', 'POST', 'OPTIONS'):
        app.router.add_route(method, f'/{path}/', handle)


class _Handler:
    def __init__(self, sio, path):
        self.sio = sio
        self.path = path

    async def __call__(self, request):
        sio = self.sio
        sio._bind_loop()
        native = sio._get_native(self.path)
        headers = [(bytes(k), bytes(v)) for k, v in request.raw_headers]
        # As behind a proxy: a TLS connection is marked so the page's https
        # origin counts as the server's own.
        if request.secure and not any(k.lower() == b'x-forwarded-proto' for k, _ in headers):
            headers.append((b'x-forwarded-proto', b'https'))
        peer = request.transport.get_extra_info('peername') if request.transport else None
        client = (peer[0], int(peer[1])) if peer and len(peer) >= 2 else None
        uri = request.raw_path
        if request.headers.get('Upgrade', '').lower() == 'websocket':
            if _hand_over(request, native):
                from aiohttp import web
                # The connection is gone from aiohttp: writing this answer
                # meets a closed transport, which aiohttp takes quietly.
                return web.Response(status=101)
            return await self._websocket(request, native, uri, headers, client)
        body = await request.read()
        token = next_token()
        fut = asyncio.get_running_loop().create_future()
        sio._futures[token] = fut
        try:
            native.handle_http(request.method, uri, headers, body, client, token)
            # aiohttp cancels this handler if the client goes away during a
            # long poll; the session then times out on its own.
            err, result = await fut
        finally:
            sio._futures.pop(token, None)
        from aiohttp import web
        if err is not None:
            return web.Response(status=500, text=err[1])
        status, answer_headers, payload = result
        res = web.Response(status=status, body=payload)
        res.headers.popall('Content-Type', None)
        for k, v in answer_headers:
            if k.lower() not in _SKIPPED:
                res.headers.add(k, v.decode('latin-1'))
        return res

    async def _websocket(self, request, native, uri, headers, client):
        from aiohttp import WSMsgType, web
        sio = self.sio
        token = next_token()
        queue = sio._ws[token] = asyncio.Queue()
        try:
            conn = native.open_ws(uri, headers, client, token)
            kind, data = await queue.get()
            if kind != 'open':
                # The engine refused the handshake (origin, unknown session...).
                sio.logger.info('socketio_rs aiohttp: websocket refused: %s', data)
                return web.Response(status=400, text='Bad request')
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            out = asyncio.ensure_future(_ws_out(queue, ws))
            try:
                while True:
                    inbound = asyncio.ensure_future(ws.receive())
                    await asyncio.wait({inbound, out}, return_when=asyncio.FIRST_COMPLETED)
                    if not inbound.done():
                        inbound.cancel()  # the engine closed the connection
                        break
                    msg = inbound.result()
                    if msg.type == WSMsgType.TEXT:
                        conn.send_text(msg.data)
                    elif msg.type == WSMsgType.BINARY:
                        conn.send_bytes(msg.data)
                    elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED,
                                      WSMsgType.ERROR):
                        break
            finally:
                conn.close()
                out.cancel()
                if not ws.closed:
                    await ws.close()
            return ws
        finally:
            sio._ws.pop(token, None)


def _hand_over(request, native):
    """Gives the upgrade's connection to the Rust server: the request as the
    client sent it and what aiohttp read after it, then aiohttp lets go of
    its descriptor (the duplicate keeps the connection open). Runs without
    yielding to the event loop, so nothing is read in between."""
    transport = request.transport
    if transport is None or request.secure or transport.is_closing():
        return False
    sock = transport.get_extra_info('socket')
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    # What the client sent behind its request head: aiohttp holds it here
    # once the parser has seen an upgrade. Without it, nothing is taken.
    tail = getattr(request.protocol, '_message_tail', None)
    if not isinstance(tail, (bytes, bytearray)):
        return False
    version = request.version
    head = [f'{request.method} '.encode('latin-1') + request.raw_path.encode('latin-1')
            + f' HTTP/{version.major}.{version.minor}\r\n'.encode('latin-1')]
    head += [bytes(k) + b': ' + bytes(v) + b'\r\n' for k, v in request.raw_headers]
    head.append(b'\r\n')
    fd = os.dup(sock.fileno())
    try:
        # The Rust server owns the duplicate from here on, even if this raises.
        native.serve_fd(fd, b''.join(head) + bytes(tail))
    except Exception:
        transport.abort()
        raise
    request.protocol._message_tail = b''
    transport.abort()
    return True


async def _ws_out(queue, ws):
    while True:
        kind, data = await queue.get()
        if kind == 'text':
            await ws.send_str(data)
        elif kind == 'bytes':
            await ws.send_bytes(data)
        else:
            return
