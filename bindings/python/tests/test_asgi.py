"""``socketio_rs.ASGIApp`` under uvicorn: long-polling and WebSocket bridged
in-process, other paths to the other app."""

import asyncio
import logging

import pytest
import socketio

import socketio_rs
from conftest import uvicorn_server

pytest.importorskip('uvicorn')


async def other_app(scope, receive, send):
    if scope['type'] != 'http':
        return
    await send({'type': 'http.response.start', 'status': 200,
                'headers': [(b'content-type', b'text/plain')]})
    await send({'type': 'http.response.body', 'body': b'other app'})


def test_asgi_app_under_uvicorn():
    async def main():
        sio = socketio_rs.AsyncServer(async_mode='asgi')
        app = socketio_rs.ASGIApp(sio, other_asgi_app=other_app)

        @sio.event
        async def connect(sid, environ, auth):
            await sio.emit('hello', auth, to=sid)

        @sio.event
        async def echo(sid, data):
            return data

        async with uvicorn_server(app) as url:
            c = socketio.AsyncClient()
            hello = []
            c.on('hello', hello.append)
            await c.connect(url, auth={'via': 'asgi'})
            assert await c.call('echo', {'b': b'\x01', 'n': [1, 2]}) == {'b': b'\x01', 'n': [1, 2]}
            for _ in range(300):
                if hello:
                    break
                await asyncio.sleep(0.01)
            assert hello == [{'via': 'asgi'}]
            await c.disconnect()

            # WebSocket only, and polling upgraded to WebSocket.
            for transports in (['websocket'], None):
                ws = socketio.AsyncClient()
                await ws.connect(url, transports=transports)
                for _ in range(200):
                    if ws.transport() == 'websocket':
                        break
                    await asyncio.sleep(0.01)
                assert ws.transport() == 'websocket'
                data = {'bin': b'\x00' * 3000, 'text': 'ü' * 100}
                assert await ws.call('echo', data) == data
                await ws.disconnect()

            ours = socketio_rs.AsyncClient()
            await ours.connect(url, transports=['websocket'])
            assert await ours.call('echo', [1, 2]) == [1, 2]
            await ours.disconnect()

            loop = asyncio.get_running_loop()

            def fetch():
                import urllib.request
                with urllib.request.urlopen(url + '/elsewhere', timeout=5) as r:
                    return r.read()

            assert await loop.run_in_executor(None, fetch) == b'other app'
        await sio.shutdown()

    asyncio.run(asyncio.wait_for(main(), 60))


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.mark.parametrize('ws, standard', [
    ('wsproto', False),
    ('websockets-sansio', False),
    # What `pip install uvicorn[standard]` runs: httptools and uvloop.
    ('websockets-sansio', True),
])
def test_uvicorn_hands_websocket_connections_to_the_rust_server(ws, standard):
    """Under uvicorn's WebSocket protocols, a WebSocket connection leaves
    uvicorn before the handshake: the Rust server owns it (uvicorn holds no
    connection afterwards), and uvicorn logs nothing about it."""
    pytest.importorskip('websockets' if ws.startswith('websockets') else 'wsproto')
    run = asyncio.run
    extra = {'http': 'h11'}
    if standard:
        uvloop = pytest.importorskip('uvloop')
        pytest.importorskip('httptools')
        run = uvloop.run
        extra['http'] = 'httptools'
    box = {}
    records = _Records()

    async def main():
        sio = socketio_rs.AsyncServer(async_mode='asgi')
        app = socketio_rs.ASGIApp(sio, other_asgi_app=other_app)

        @sio.event
        async def connect(sid, environ, auth):
            box.setdefault('addresses', []).append(environ['REMOTE_ADDR'])

        @sio.event
        async def echo(sid, data):
            return data

        # As behind a proxy uvicorn trusts: the client's address is the
        # one it forwarded.
        served = uvicorn_server(app, ws=ws, forwarded_allow_ips='*', **extra)
        async with served as url:
            box['loop'] = type(asyncio.get_running_loop()).__module__
            state = served.server.server_state
            c = socketio.AsyncClient()
            await c.connect(url, transports=['websocket'], wait_timeout=5,
                            headers={'X-Forwarded-For': '10.1.2.3'})
            data = {'big': 'x' * 100000, 'bin': b'\x00' * 10}
            box['echo'] = await c.call('echo', data, timeout=5) == data
            # A relay keeps the WebSocket protocol among uvicorn's connections.
            for _ in range(100):
                if not state.connections:
                    break
                await asyncio.sleep(0.02)
            box['uvicorn connections'] = len(state.connections)
            box['still served'] = await c.call('echo', 'after', timeout=5)
            await c.disconnect()
            # Polling, then the upgrade (handed over too).
            p = socketio.AsyncClient()
            await p.connect(url, wait_timeout=5)
            for _ in range(200):
                if p.transport() == 'websocket':
                    break
                await asyncio.sleep(0.01)
            box['upgraded'] = p.transport()
            box['upgraded echo'] = await p.call('echo', [1, 2], timeout=5)
            await p.disconnect()
        await sio.shutdown()

    logger = logging.getLogger('uvicorn.error')
    logger.addHandler(records)
    try:
        run(asyncio.wait_for(main(), 60))
    finally:
        logger.removeHandler(records)
    assert box['echo']
    assert box['uvicorn connections'] == 0
    assert box['still served'] == 'after'
    assert box['addresses'] == ['10.1.2.3', '127.0.0.1']
    assert box['upgraded'] == 'websocket'
    assert box['upgraded echo'] == [1, 2]
    assert [r.getMessage() for r in records.records] == []
    if standard:
        assert box['loop'].startswith('uvloop')


def test_uvicorn_legacy_websockets_protocol_is_relayed():
    """uvicorn's deprecated `websockets` protocol would log a failed
    handshake for a connection taken from it: it stays relayed, and works."""
    pytest.importorskip('websockets')
    box = {}

    async def main():
        sio = socketio_rs.AsyncServer(async_mode='asgi')
        app = socketio_rs.ASGIApp(sio)

        @sio.event
        async def echo(sid, data):
            return data

        import warnings
        with warnings.catch_warnings():
            warnings.filterwarnings('ignore', message='The .websockets. implementation is deprecated')
            warnings.simplefilter('ignore', DeprecationWarning)  # websockets.legacy
            served = uvicorn_server(app, ws='websockets')
            async with served as url:
                c = socketio.AsyncClient()
                await c.connect(url, transports=['websocket'], wait_timeout=5)
                box['echo'] = await c.call('echo', 'hi', timeout=5)
                box['uvicorn connections'] = len(served.server.server_state.connections)
                await c.disconnect()
        await sio.shutdown()

    asyncio.run(asyncio.wait_for(main(), 60))
    assert box['echo'] == 'hi'
    assert box['uvicorn connections'] == 1


def test_socketio_path_none_serves_every_path():
    """``ASGIApp(sio, socketio_path=None)``: every request is the server's,
    whatever its path, and the other app is not asked (python-engineio's
    meaning of ``None``)."""
    box = {}

    async def never(scope, receive, send):
        box['other app'] = True

    async def main():
        sio = socketio_rs.AsyncServer(async_mode='asgi')

        @sio.event
        async def echo(sid, data):
            return data

        async with uvicorn_server(socketio_rs.ASGIApp(sio, never, socketio_path=None)) as url:
            for transports in (['polling'], ['websocket']):
                c = socketio.AsyncClient()
                await c.connect(url, socketio_path='/mounted/elsewhere', transports=transports,
                                wait_timeout=5)
                box.setdefault('transports', []).append(c.transport())
                box.setdefault('echoes', []).append(await c.call('echo', [1], timeout=5))
                await c.disconnect()
        await sio.shutdown()

    asyncio.run(asyncio.wait_for(main(), 60))
    assert box['transports'] == ['polling', 'websocket']
    assert box['echoes'] == [[1], [1]]
    assert 'other app' not in box
