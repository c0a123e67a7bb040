"""Origins exactly as python-engineio: only the server's own origin by
default, on long-polling and WebSocket alike; ``cors_allowed_origins`` as a
string, list, ``'*'``, callable or ``[]``; ``cors_credentials``. Every
refused case sits beside an allowed one, under ``listen()`` and ASGI."""

import asyncio
import threading
import urllib.error
import urllib.request
import warnings

import pytest
import websocket

import socketio_rs
from conftest import uvicorn_server

EVIL = 'http://evil.example'
GOOD = 'http://good.example'


def polling(url, origin=None, method='GET'):
    """(status, headers) of a handshake request carrying ``origin``."""
    headers = {'Origin': origin} if origin else {}
    if method == 'OPTIONS':
        headers['Access-Control-Request-Method'] = 'POST'
    req = urllib.request.Request(url + '/socket.io/?EIO=4&transport=polling',
                                 headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            r.read()
            return r.status, r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.headers


def ws_status(url, origin):
    """101 when the WebSocket opens (and speaks Engine.IO), else the
    handshake's HTTP status."""
    ws_url = url.replace('http://', 'ws://') + '/socket.io/?EIO=4&transport=websocket'
    try:
        ws = websocket.create_connection(ws_url, origin=origin, timeout=5)
    except websocket.WebSocketBadStatusException as e:
        return e.status_code
    try:
        assert ws.recv().startswith('0')
        return 101
    finally:
        ws.close()


def both(url, origin):
    return polling(url, origin)[0], ws_status(url, origin)


def test_default_allows_only_the_same_origin(sync_server):
    _, url = sync_server()
    assert both(url, EVIL) == (400, 400)
    assert polling(url, EVIL, 'OPTIONS')[0] == 400
    status, headers = polling(url, url)
    assert status == 200
    assert headers['Access-Control-Allow-Origin'] == url
    assert headers['Access-Control-Allow-Credentials'] == 'true'
    assert ws_status(url, url) == 101
    # Another port of the same host is another origin.
    host, port = url.rsplit(':', 1)
    assert both(url, f'{host}:{int(port) + 1}') == (400, 400)
    # Clients that send no Origin (not browsers) are served.
    assert polling(url)[0] == 200


def test_a_string_or_a_list_allows_those_origins(sync_server):
    for allowed in (GOOD, [GOOD, 'http://other.example']):
        _, url = sync_server(cors_allowed_origins=allowed)
        assert both(url, GOOD) == (200, 101)
        assert polling(url, GOOD)[1]['Access-Control-Allow-Origin'] == GOOD
        assert both(url, EVIL) == (400, 400)
        # The server's own origin is not implied by an explicit list.
        assert polling(url, url)[0] == 400


def test_star_allows_every_origin_and_reflects_it(sync_server):
    for allowed in ('*', ['*']):
        _, url = sync_server(cors_allowed_origins=allowed)
        assert both(url, EVIL) == (200, 101)
        assert polling(url, EVIL)[1]['Access-Control-Allow-Origin'] == EVIL


def test_a_callable_decides(sync_server):
    seen = []

    def one_arg(origin):
        return origin == GOOD

    def with_environ(origin, environ):
        seen.append(environ)
        return origin.endswith('.good.example') and environ['PATH_INFO'].startswith('/socket.io')

    def broken(origin):
        raise RuntimeError('boom')

    _, url = sync_server(cors_allowed_origins=one_arg)
    assert both(url, GOOD) == (200, 101)
    assert both(url, EVIL) == (400, 400)
    _, url = sync_server(cors_allowed_origins=with_environ)
    assert both(url, 'http://a.good.example') == (200, 101)
    assert both(url, EVIL) == (400, 400)
    assert seen[0]['HTTP_ORIGIN'] == 'http://a.good.example'
    assert seen[0]['REQUEST_METHOD'] == 'GET'
    # An exception fails closed.
    _, url = sync_server(cors_allowed_origins=broken)
    assert both(url, GOOD) == (400, 400)


def test_an_empty_list_disables_cors_handling(sync_server):
    _, url = sync_server(cors_allowed_origins=[])
    status, headers = polling(url, EVIL)
    assert status == 200
    assert headers.get('Access-Control-Allow-Origin') is None
    assert ws_status(url, EVIL) == 101


def test_credentials_can_be_turned_off(sync_server):
    _, url = sync_server(cors_allowed_origins=GOOD, cors_credentials=False)
    status, headers = polling(url, GOOD)
    assert status == 200
    assert headers.get('Access-Control-Allow-Credentials') is None
    _, url = sync_server(cors_allowed_origins=GOOD)
    assert polling(url, GOOD)[1]['Access-Control-Allow-Credentials'] == 'true'


def test_a_bad_value_is_refused_at_construction():
    for bad in (42, [GOOD, 3]):
        with pytest.raises(TypeError, match='cors_allowed_origins'):
            socketio_rs.Server(cors_allowed_origins=bad)
        with pytest.raises(TypeError, match='cors_allowed_origins'):
            socketio_rs.AsyncServer(cors_allowed_origins=bad)


pytest.importorskip('uvicorn')


@pytest.mark.parametrize('ws, refused', [
    # Handed over before the handshake: the Rust server refuses it, as
    # python-engineio answers a refused request (400).
    ('wsproto', 400),
    # Relayed: a WebSocket closed before it is accepted, which the ASGI
    # server answers with 403 (python-engineio under ASGI does the same).
    ('websockets', 403),
])
def test_asgi_default_allows_only_the_same_origin(ws, refused):
    """The same checks with the engine behind ASGI, the WebSocket handed
    over or relayed: the browser's Host must reach the check."""
    pytest.importorskip('websockets' if ws == 'websockets' else 'wsproto')
    started = threading.Event()
    box = {}

    async def main():
        sio = socketio_rs.AsyncServer(async_mode='asgi')
        with warnings.catch_warnings():
            # uvicorn's `websockets` protocol is deprecated; still served.
            warnings.filterwarnings('ignore', message='The .websockets. implementation is deprecated')
            warnings.simplefilter('ignore', DeprecationWarning)  # websockets.legacy
            async with uvicorn_server(socketio_rs.ASGIApp(sio), ws=ws) as url:
                loop = asyncio.get_running_loop()
                box['foreign'] = await loop.run_in_executor(None, both, url, EVIL)
                box['own'] = await loop.run_in_executor(None, both, url, url)
        await sio.shutdown()
        started.set()

    asyncio.run(asyncio.wait_for(main(), 60))
    assert started.is_set()
    assert box['foreign'] == (400, refused)
    assert box['own'] == (200, 101)
