"""``AsyncServer.attach(app)`` on an aiohttp application: long-polling and
WebSocket served through aiohttp, the app's own routes untouched, foreign
origins refused as everywhere else."""

import asyncio
import socket
import urllib.error
import urllib.request

import pytest
import socketio
import websocket

import socketio_rs

web = pytest.importorskip('aiohttp.web')


def status_of(url, origin=None):
    headers = {'Origin': origin} if origin else {}
    req = urllib.request.Request(url + '/socket.io/?EIO=4&transport=polling', headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def ws_status(url, origin):
    try:
        ws = websocket.create_connection(
            url.replace('http://', 'ws://') + '/socket.io/?EIO=4&transport=websocket',
            origin=origin, timeout=5)
    except websocket.WebSocketBadStatusException as e:
        return e.status_code
    try:
        assert ws.recv().startswith('0')
        return 101
    finally:
        ws.close()


async def serve(app):
    """Starts `app` on a free loopback port: its runner and the port."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, '127.0.0.1', 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


def test_attach_to_an_aiohttp_app():
    box = {}

    async def main():
        sio = socketio_rs.AsyncServer(async_mode='aiohttp')
        app = web.Application()

        async def index(request):
            return web.Response(text='the app')

        app.router.add_get('/', index)
        sio.attach(app)

        @sio.event
        async def connect(sid, environ, auth):
            await sio.emit('hello', auth, to=sid)

        @sio.event
        async def echo(sid, data):
            return data

        runner, port = await serve(app)
        url = f'http://127.0.0.1:{port}'
        try:
            for transports in (['polling'], ['websocket'], None):
                c = socketio.AsyncClient()
                hello = asyncio.get_running_loop().create_future()
                c.on('hello', lambda data, f=hello: f.done() or f.set_result(data))
                await c.connect(url, auth={'t': str(transports)}, transports=transports,
                                wait_timeout=5)
                assert await asyncio.wait_for(hello, 5) == {'t': str(transports)}
                data = {'bin': b'\x00\x01' * 1000, 'text': 'ü' * 50}
                assert await c.call('echo', data, timeout=5) == data
                if transports is None:
                    for _ in range(200):
                        if c.transport() == 'websocket':
                            break
                        await asyncio.sleep(0.01)
                    box['upgraded'] = c.transport()
                await c.disconnect()
            loop = asyncio.get_running_loop()

            def fetch():
                with urllib.request.urlopen(url + '/', timeout=5) as r:
                    return r.read()

            box['app'] = await loop.run_in_executor(None, fetch)
            box['foreign'] = (await loop.run_in_executor(None, status_of, url, 'http://evil.example'),
                              await loop.run_in_executor(None, ws_status, url, 'http://evil.example'))
            box['own'] = (await loop.run_in_executor(None, status_of, url, url),
                          await loop.run_in_executor(None, ws_status, url, url))
        finally:
            await sio.shutdown()
            await runner.cleanup()

    asyncio.run(asyncio.wait_for(main(), 60))
    assert box['upgraded'] == 'websocket'
    assert box['app'] == b'the app'
    assert box['foreign'] == (400, 400)
    assert box['own'] == (200, 101)


def test_websocket_connections_are_handed_to_the_rust_server():
    """aiohttp lets go of a WebSocket connection: the Rust server owns it,
    with what the client sent right behind its upgrade request."""
    box = {}

    def pipelined(port):
        # The upgrade request and, in the same write, the Socket.IO CONNECT.
        s = socket.create_connection(('127.0.0.1', port), timeout=5)
        mask = bytes([1, 2, 3, 4])
        connect = bytes(b ^ mask[i % 4] for i, b in enumerate(b'40'))
        s.sendall(b'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n'
                  b'Host: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n'
                  b'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
                  b'\r\n' + bytes([0x81, 0x82]) + mask + connect)
        got = b''
        try:
            while b'40{"sid":"' not in got:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        finally:
            s.close()
        return got

    async def main():
        sio = socketio_rs.AsyncServer(async_mode='aiohttp')
        app = web.Application()
        sio.attach(app)

        @sio.event
        async def echo(sid, data):
            return data

        runner, port = await serve(app)
        try:
            c = socketio.AsyncClient()
            await c.connect(f'http://127.0.0.1:{port}', transports=['websocket'], wait_timeout=5)
            data = {'big': 'x' * 100000, 'bin': b'\x00' * 10}
            box['echo'] = await c.call('echo', data, timeout=5) == data
            # A relay would keep the client's connection among aiohttp's.
            for _ in range(100):
                if not runner.server.connections:
                    break
                await asyncio.sleep(0.02)
            box['aiohttp connections'] = len(runner.server.connections)
            box['still served'] = await c.call('echo', 'after', timeout=5)
            await c.disconnect()
            box['pipelined'] = await asyncio.get_running_loop().run_in_executor(
                None, pipelined, port)
        finally:
            await sio.shutdown()
            await runner.cleanup()

    asyncio.run(asyncio.wait_for(main(), 60))
    assert box['echo']
    assert box['aiohttp connections'] == 0
    assert box['still served'] == 'after'
    assert box['pipelined'].startswith(b'HTTP/1.1 101 ')
    assert b'40{"sid":"' in box['pipelined']


def test_attach_refuses_what_is_not_an_aiohttp_app():
    sio = socketio_rs.AsyncServer()
    with pytest.raises(TypeError, match='aiohttp'):
        sio.attach(object())
