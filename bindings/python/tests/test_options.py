"""No option silently ignored: each constructor argument of python-socketio
/ python-engineio is honoured or refused with a clear exception naming it."""

import asyncio
import json
import shutil
import subprocess
import types
import urllib.request

import pytest

import socketio_rs
from conftest import uvicorn_server


@pytest.mark.parametrize('cls', [socketio_rs.Server, socketio_rs.AsyncServer,
                                 socketio_rs.Client, socketio_rs.AsyncClient])
def test_an_unknown_keyword_raises_naming_it(cls):
    with pytest.raises(TypeError, match='pingInterval'):
        cls(pingInterval=3)


def test_async_modes():
    assert socketio_rs.Server().async_mode == 'threading'
    assert socketio_rs.Server(async_mode='threading').async_mode == 'threading'
    assert socketio_rs.AsyncServer().async_mode == 'asgi'
    assert socketio_rs.AsyncServer(async_mode='aiohttp').async_mode == 'aiohttp'
    for mode in ('eventlet', 'gevent', 'gevent_uwsgi'):
        with pytest.raises(ValueError, match=mode):
            socketio_rs.Server(async_mode=mode)
    for mode in ('tornado', 'sanic', 'threading'):
        with pytest.raises(ValueError, match=mode):
            socketio_rs.AsyncServer(async_mode=mode)


def test_json_serializer_manager_and_always_connect():
    orjson_like = types.SimpleNamespace(dumps=json.dumps, loads=json.loads)
    for cls in (socketio_rs.Server, socketio_rs.AsyncServer, socketio_rs.Client,
                socketio_rs.AsyncClient):
        cls(json=json)  # the standard module is what is used anyway
        with pytest.raises(ValueError, match='json='):
            cls(json=orjson_like)
        with pytest.raises(ValueError, match='pickle'):
            cls(serializer='pickle')
    with pytest.raises(ValueError, match='client_manager'):
        socketio_rs.Server(client_manager=object())
    with pytest.raises(ValueError, match='always_connect'):
        socketio_rs.Server(always_connect=True)
    with pytest.raises(ValueError, match='monitor_clients'):
        socketio_rs.Server(monitor_clients=False)
    with pytest.raises(ValueError, match='http_session'):
        socketio_rs.Client(http_session=object())
    socketio_rs.Server(monitor_clients=True, engineio_logger=False)
    socketio_rs.Client(handle_sigint=False, timestamp_requests=True, ssl_verify=True)


def handshake_cookie(url):
    with urllib.request.urlopen(url + '/socket.io/?EIO=4&transport=polling', timeout=5) as r:
        sid = json.loads(r.read().decode()[1:])['sid']
        return sid, r.headers.get('Set-Cookie')


def test_cookie_as_a_name_or_attributes(sync_server):
    _, url = sync_server()
    assert handshake_cookie(url)[1] is None
    _, url = sync_server(cookie='sticky')
    sid, cookie = handshake_cookie(url)
    assert cookie == f'sticky={sid}; Path=/; SameSite=Lax'
    _, url = sync_server(cookie={'name': 'srv', 'path': '/app', 'SameSite': 'Strict',
                                 'Secure': True, 'HttpOnly': True, 'Max-Age': 60})
    sid, cookie = handshake_cookie(url)
    assert cookie == f'srv={sid}; Path=/app; Max-Age=60; HttpOnly; Secure; SameSite=Strict'
    with pytest.raises(TypeError, match='Expires'):
        socketio_rs.Server(cookie={'Expires': 'never'})


def test_compression_threshold_and_http_compression(sync_server):
    def encoding(url):
        req = urllib.request.Request(url + '/socket.io/?EIO=4&transport=polling',
                                     headers={'Accept-Encoding': 'gzip'})
        with urllib.request.urlopen(req, timeout=5) as r:
            r.read()
            return r.headers.get('Content-Encoding')

    # The handshake is about 100 bytes: compressed only under a small threshold.
    _, url = sync_server(compression_threshold=10)
    assert encoding(url) == 'gzip'
    _, url = sync_server(compression_threshold=10, http_compression=False)
    assert encoding(url) is None
    # The default threshold (1024) is off too: a long answer stays plain.
    sio, url = sync_server(http_compression=False)
    assert long_answer_encoding(sio, url) is None
    sio, url = sync_server()
    assert long_answer_encoding(sio, url) == 'gzip'


def long_answer_encoding(sio, url):
    """The Content-Encoding of a polling answer of about 4 KB."""
    with urllib.request.urlopen(url + '/socket.io/?EIO=4&transport=polling', timeout=5) as r:
        sid = json.loads(r.read().decode()[1:])['sid']
    base = url + f'/socket.io/?EIO=4&transport=polling&sid={sid}'
    urllib.request.urlopen(urllib.request.Request(base, data=b'40', method='POST'), timeout=5).read()
    req = urllib.request.Request(base, headers={'Accept-Encoding': 'gzip'})
    with urllib.request.urlopen(req, timeout=5) as r:
        r.read()  # the namespace's CONNECT answer
    sio.emit('big', 'x' * 4096)
    with urllib.request.urlopen(req, timeout=5) as r:
        r.read()
        return r.headers.get('Content-Encoding')


@pytest.mark.skipif(shutil.which('openssl') is None, reason='needs openssl')
def test_ssl_verify_false_reaches_a_self_signed_server(tmp_path):
    pytest.importorskip('uvicorn')
    key, cert = tmp_path / 'key.pem', tmp_path / 'cert.pem'
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
                    '-subj', '/CN=localhost', '-keyout', str(key), '-out', str(cert)],
                   check=True, capture_output=True, timeout=60)
    box = {}

    async def main():
        sio = socketio_rs.AsyncServer(async_mode='asgi')

        @sio.event
        async def echo(sid, data):
            return data

        async with uvicorn_server(socketio_rs.ASGIApp(sio), ssl_keyfile=str(key),
                                  ssl_certfile=str(cert)) as url:
            verified = socketio_rs.AsyncClient(reconnection=False)
            try:
                await verified.connect(url, wait_timeout=5)
                box['verified'] = 'connected'
            except socketio_rs.exceptions.ConnectionError as e:
                box['verified'] = str(e)
            for transports in (['polling'], ['websocket']):
                c = socketio_rs.AsyncClient(ssl_verify=False, reconnection=False)
                await c.connect(url, transports=transports, wait_timeout=5)
                box[transports[0]] = await c.call('echo', 'over tls', timeout=5)
                await c.disconnect()
        await sio.shutdown()

    asyncio.run(asyncio.wait_for(main(), 60))
    assert box['verified'] != 'connected'
    assert box['polling'] == 'over tls'
    assert box['websocket'] == 'over tls'
