"""``serve_client``: the npm socket.io-client bundle under the Socket.IO
path, as socket.io's ``serveClient`` serves it, from ``listen()`` and from
``ASGIApp``."""

import asyncio
import json

import pytest
import requests

import socketio_rs

from conftest import NODE_DIR

PACKAGE = NODE_DIR / 'node_modules' / 'socket.io-client'
FILES = ['socket.io.js', 'socket.io.js.map', 'socket.io.min.js', 'socket.io.min.js.map',
         'socket.io.msgpack.min.js', 'socket.io.msgpack.min.js.map', 'socket.io.esm.min.js',
         'socket.io.esm.min.js.map']

pytestmark = pytest.mark.skipif(not (PACKAGE / 'dist' / 'socket.io.js').is_file(),
                                reason='needs `npm ci --prefix tests/node`')


def version():
    return json.loads((PACKAGE / 'package.json').read_text())['version']


def check_files(url):
    etag = f'"{version()}"'
    for name in FILES:
        r = requests.get(f'{url}/socket.io/{name}', headers={'Accept-Encoding': 'identity'},
                         timeout=5)
        assert r.status_code == 200, name
        assert r.content == (PACKAGE / 'dist' / name).read_bytes(), name
        kind = 'json' if name.endswith('.map') else 'javascript'
        assert r.headers['Content-Type'] == f'application/{kind}; charset=utf-8'
        assert r.headers['ETag'] == etag
        assert r.headers['Cache-Control'] == 'public, max-age=0'
        assert 'Content-Encoding' not in r.headers
    # gzip when asked (requests decodes it).
    r = requests.get(f'{url}/socket.io/socket.io.min.js', timeout=5)
    assert r.headers['Content-Encoding'] == 'gzip'
    assert r.content == (PACKAGE / 'dist' / 'socket.io.min.js').read_bytes()
    r = requests.get(f'{url}/socket.io/socket.io.js', headers={'If-None-Match': etag}, timeout=5)
    assert r.status_code == 304 and r.content == b'' and 'ETag' not in r.headers
    # Other names are the engine's, as with socket.io.
    r = requests.get(f'{url}/socket.io/socket.io.jsx', timeout=5)
    assert r.status_code == 400
    assert r.json() == {'code': 0, 'message': 'Transport unknown'}


def test_a_directory(sync_server, tmp_path):
    sio, url = sync_server(serve_client=str(PACKAGE))
    check_files(url)
    # Socket.IO is still there.
    r = requests.get(f'{url}/socket.io/?EIO=4&transport=polling', timeout=5)
    assert r.status_code == 200 and r.text.startswith('0{')


def test_a_path_object_and_the_dist_folder(sync_server):
    sio, url = sync_server(serve_client=PACKAGE / 'dist')
    check_files(url)


def test_true_reads_the_environment(sync_server, monkeypatch):
    monkeypatch.setenv('SOCKETIO_CLIENT_DIST', str(PACKAGE))
    sio, url = sync_server(serve_client=True)
    check_files(url)
    monkeypatch.delenv('SOCKETIO_CLIENT_DIST')
    with pytest.raises(ValueError, match='SOCKETIO_CLIENT_DIST'):
        socketio_rs.Server(serve_client=True)


def test_off_by_default(sync_server):
    for kwargs in ({}, {'serve_client': False}, {'serve_client': None}):
        sio, url = sync_server(**kwargs)
        r = requests.get(f'{url}/socket.io/socket.io.js', timeout=5)
        assert r.status_code == 400, kwargs


def test_clear_errors_at_construction(tmp_path):
    for cls in (socketio_rs.Server, socketio_rs.AsyncServer):
        with pytest.raises(FileNotFoundError, match='no socket.io-client bundle in'):
            cls(serve_client=str(tmp_path / 'nowhere'))
        (tmp_path / 'dist').mkdir(exist_ok=True)
        (tmp_path / 'dist' / 'socket.io.js').write_text('//')
        with pytest.raises(FileNotFoundError, match='lacks socket.io.esm.min.js'):
            cls(serve_client=tmp_path)
        with pytest.raises(TypeError, match='serve_client'):
            cls(serve_client=3)


def test_asgi_app():
    uvicorn = pytest.importorskip('uvicorn')

    async def main():
        sio = socketio_rs.AsyncServer(async_mode='asgi', serve_client=PACKAGE)
        app = socketio_rs.ASGIApp(sio)
        config = uvicorn.Config(app, host='127.0.0.1', port=0, log_level='warning',
                                lifespan='off')
        server = uvicorn.Server(config)
        serving = asyncio.ensure_future(server.serve())
        try:
            for _ in range(500):
                if server.started:
                    break
                await asyncio.sleep(0.01)
            port = server.servers[0].sockets[0].getsockname()[1]
            await asyncio.get_running_loop().run_in_executor(
                None, check_files, f'http://127.0.0.1:{port}')
        finally:
            server.should_exit = True
            await asyncio.wait_for(serving, 10)
            await sio.shutdown()

    asyncio.run(main())
