"""``AsyncServer.attach(app)`` on an aiohttp application: long-polling and
WebSocket served through aiohttp, the app's own routes untouched, foreign
origins refused as everywhere else."""

import asyncio
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

        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, '127.0.0.1', 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
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


def test_attach_refuses_what_is_not_an_aiohttp_app():
    sio = socketio_rs.AsyncServer()
    with pytest.raises(TypeError, match='aiohttp'):
        sio.attach(object())
