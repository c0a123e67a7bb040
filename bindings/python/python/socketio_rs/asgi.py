"""``ASGIApp``: serves an ``AsyncServer`` inside any ASGI server (uvicorn,
hypercorn...), as python-socketio's ``socketio.ASGIApp``.

Socket.IO's HTTP long-polling requests are answered in-process by the Rust
Engine.IO service. A WebSocket connection under uvicorn (its ``wsproto`` and
``websockets-sansio`` protocols, the ones ``--ws auto`` picks) is handed
over to the Rust server before the handshake, which owns it from then on:
no message passes through Python. Under any other ASGI server, over TLS or
on a Unix socket, WebSocket messages are relayed (the ASGI server does the
network side). Other paths go to ``other_asgi_app`` (404 without one).
"""

import asyncio
import ipaddress
import os
import socket

from ._base import next_token
from ._static import get_static_file, read_static_file


class ASGIApp:
    """An ASGI application serving ``socketio_server`` (an ``AsyncServer``)
    under ``/socketio_path/``; ``static_files`` as python-engineio's;
    everything else goes to ``other_asgi_app``. With ``socketio_path=None``
    every request is the server's, whatever its path (an outer layer routes
    them here), and ``static_files`` and ``other_asgi_app`` are ignored, as
    in python-engineio."""

    def __init__(self, socketio_server, other_asgi_app=None, static_files=None,
                 socketio_path='socket.io', on_startup=None, on_shutdown=None):
        self.engineio_server = self.sio = socketio_server
        self.other_asgi_app = other_asgi_app
        self.socketio_path = None if socketio_path is None else socketio_path.strip('/')
        # The engine's own path: the requests of an app without one are
        # passed on under the default.
        self._engine_path = self.socketio_path or 'socket.io'
        self.on_startup = on_startup
        self.on_shutdown = on_shutdown
        self.static_files = static_files or {}

    def _ours(self, scope):
        if self.socketio_path is None:
            return True
        path = scope.get('path', '')
        prefix = '/' + self.socketio_path
        return path == prefix or path.startswith(prefix + '/')

    async def __call__(self, scope, receive, send):
        kind = scope['type']
        if kind == 'lifespan':
            await self._lifespan(scope, receive, send)
        elif kind == 'http' and self._ours(scope):
            await self._http(scope, receive, send)
        elif kind == 'websocket' and self._ours(scope):
            await self._websocket(scope, receive, send)
        elif self.socketio_path is None:
            pass  # as python-engineio: nothing else is served
        elif kind == 'http' and self.static_files and await self._static(scope, send):
            pass
        elif self.other_asgi_app is not None:
            await self.other_asgi_app(scope, receive, send)
        elif kind == 'http':
            await send({'type': 'http.response.start', 'status': 404,
                        'headers': [(b'content-type', b'text/plain')]})
            await send({'type': 'http.response.body', 'body': b'Not Found'})

    async def _static(self, scope, send):
        """Serves the file ``static_files`` maps the path to, if any."""
        path = scope.get('path', '')
        if get_static_file(path, self.static_files) is None:
            return False
        found = await asyncio.get_running_loop().run_in_executor(
            None, read_static_file, path, self.static_files)
        if found is None:
            return False
        content_type, data = found
        await send({'type': 'http.response.start', 'status': 200,
                    'headers': [(b'content-type', content_type.encode('latin-1')),
                                (b'content-length', str(len(data)).encode())]})
        await send({'type': 'http.response.body', 'body': data})
        return True

    async def _lifespan(self, scope, receive, send):
        if self.other_asgi_app is not None and self.on_startup is None \
                and self.on_shutdown is None:
            await self.other_asgi_app(scope, receive, send)
            return
        while True:
            msg = await receive()
            if msg['type'] == 'lifespan.startup':
                await _call(self.on_startup)
                await send({'type': 'lifespan.startup.complete'})
            elif msg['type'] == 'lifespan.shutdown':
                await _call(self.on_shutdown)
                await self.sio.shutdown()
                await send({'type': 'lifespan.shutdown.complete'})
                return

    async def _websocket(self, scope, receive, send):
        if (await receive())['type'] != 'websocket.connect':
            return
        sio = self.sio
        sio._bind_loop()
        native = sio._get_native(self._engine_path)
        if _hand_over(scope, receive, native, self._engine_path):
            # The ASGI server saw its transport lost before any handshake:
            # its disconnect comes next, after which returning is the end
            # it expects (nothing is written, nothing logged).
            try:
                await asyncio.wait_for(_websocket_gone(receive), 5)
            except asyncio.TimeoutError:
                pass
            return
        token = next_token()
        queue = sio._ws[token] = asyncio.Queue()
        try:
            conn = native.open_ws(self._uri(scope), _headers(scope), _client(scope), token)
            kind, data = await queue.get()
            if kind != 'open':
                sio.logger.info('socketio_rs.ASGIApp: websocket refused: %s', data)
                await send({'type': 'websocket.close', 'code': 1011})
                return
            await send({'type': 'websocket.accept'})
            out = asyncio.ensure_future(self._ws_out(queue, send))
            try:
                while True:
                    inbound = asyncio.ensure_future(receive())
                    await asyncio.wait({inbound, out}, return_when=asyncio.FIRST_COMPLETED)
                    if not inbound.done():
                        inbound.cancel()  # the engine closed the connection
                        break
                    msg = inbound.result()
                    if msg['type'] == 'websocket.disconnect':
                        break
                    if msg.get('text') is not None:
                        conn.send_text(msg['text'])
                    elif msg.get('bytes') is not None:
                        conn.send_bytes(msg['bytes'])
            finally:
                conn.close()
                out.cancel()
        finally:
            sio._ws.pop(token, None)

    def _uri(self, scope):
        if self.socketio_path is None:
            # Any path is the server's: the engine sees its own.
            query = scope.get('query_string')
            uri = f'/{self._engine_path}/'
            return uri + '?' + bytes(query).decode('latin-1') if query else uri
        return _uri(scope)

    @staticmethod
    async def _ws_out(queue, send):
        while True:
            kind, data = await queue.get()
            if kind == 'text':
                await send({'type': 'websocket.send', 'text': data})
            elif kind == 'bytes':
                await send({'type': 'websocket.send', 'bytes': data})
            else:
                try:
                    await send({'type': 'websocket.close', 'code': 1000})
                except Exception:  # noqa: BLE001 - the client may be gone already
                    pass
                return

    async def _http(self, scope, receive, send):
        sio = self.sio
        sio._bind_loop()
        native = sio._get_native(self._engine_path)
        body = bytearray()
        while True:
            msg = await receive()
            if msg['type'] == 'http.disconnect':
                return
            body += msg.get('body', b'')
            if not msg.get('more_body'):
                break
        token = next_token()
        fut = asyncio.get_running_loop().create_future()
        sio._futures[token] = fut
        native.handle_http(scope['method'], self._uri(scope), _headers(scope), bytes(body),
                           _client(scope), token)
        # A long-polling GET may wait a while: stop waiting if the client
        # goes away meanwhile (the session then times out on its own).
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            await asyncio.wait({fut, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sio._futures.pop(token, None)
            gone.cancel()
        if not fut.done():
            return
        err, result = fut.result()
        if err is not None:
            await send({'type': 'http.response.start', 'status': 500, 'headers': []})
            await send({'type': 'http.response.body', 'body': err[1].encode()})
            return
        status, headers, payload = result
        await send({'type': 'http.response.start', 'status': status,
                    'headers': [(k.encode('latin-1'), v) for k, v in headers]})
        await send({'type': 'http.response.body', 'body': payload})


# The ASGI servers' WebSocket protocols that let go of a connection quietly
# when their transport is aborted before the handshake: the app's `receive`
# is a method of theirs, and their transport is the connection's.
_HANDED_OVER_BY = frozenset({
    'uvicorn.protocols.websockets.wsproto_impl.WSProtocol',
    'uvicorn.protocols.websockets.websockets_sansio_impl.WebSocketsSansIOProtocol',
})


def _hand_over(scope, receive, native, socketio_path):
    """Gives the connection of a WebSocket request to the Rust server: the
    request head rebuilt from the scope, then the ASGI server's transport
    is aborted (its descriptor only: the duplicate keeps the connection).
    Only before the handshake, on plain TCP, from a protocol known to take
    the abort quietly; runs without yielding to the loop. The client's
    address is the scope's (behind a trusted proxy, uvicorn takes it from
    ``X-Forwarded-For``); one that is not an IP address keeps the relay."""
    protocol = getattr(receive, '__self__', None)
    kind = type(protocol)
    if f'{kind.__module__}.{kind.__qualname__}' not in _HANDED_OVER_BY:
        return False
    if getattr(protocol, 'handshake_complete', True):
        return False
    transport = getattr(protocol, 'transport', None)
    if transport is None or transport.is_closing() \
            or transport.get_extra_info('sslcontext') is not None:
        return False
    sock = transport.get_extra_info('socket')
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    client = _client(scope)
    if client is not None:
        try:
            ipaddress.ip_address(client[0])
        except ValueError:
            return False
    # The engine's own path: a prefix the app is mounted under is not its.
    target = f'/{socketio_path}/'.encode('latin-1')
    if scope.get('query_string'):
        target += b'?' + bytes(scope['query_string'])
    head = [b'GET ' + target + b' HTTP/1.1\r\n']
    head += [bytes(k) + b': ' + bytes(v) + b'\r\n' for k, v in scope.get('headers', [])]
    head.append(b'\r\n')
    fd = os.dup(sock.fileno())
    try:
        # The Rust server owns the duplicate from here on, even if this raises.
        native.serve_fd(fd, b''.join(head), client)
    except Exception:
        transport.abort()
        raise
    transport.abort()
    return True


async def _websocket_gone(receive):
    while (await receive())['type'] != 'websocket.disconnect':
        pass


def _uri(scope):
    uri = scope.get('raw_path') or scope['path'].encode()
    if isinstance(uri, bytes):
        uri = uri.decode('latin-1')
    if scope.get('query_string'):
        uri += '?' + scope['query_string'].decode('latin-1')
    return uri


def _headers(scope):
    headers = [(bytes(k), bytes(v)) for k, v in scope.get('headers', [])]
    # The engine sees the request as a proxy would pass it on: a connection
    # that reached the ASGI server over TLS is marked as such, so the page's
    # https origin counts as the server's own.
    if scope.get('scheme') in ('https', 'wss') and \
            not any(k.lower() == b'x-forwarded-proto' for k, _ in headers):
        headers.append((b'x-forwarded-proto', b'https'))
    return headers


def _client(scope):
    client = scope.get('client')
    return (client[0], int(client[1])) if client else None


async def _disconnected(receive):
    while (await receive())['type'] != 'http.disconnect':
        pass


async def _call(fn):
    if fn is None:
        return
    r = fn()
    if asyncio.iscoroutine(r):
        await r
