"""``socketio_rs.ASGIApp`` under uvicorn: long-polling and WebSocket bridged
in-process, other paths to the other app."""

import asyncio

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
