"""``socketio_rs.WSGIApp`` mounting a Flask app, under werkzeug's threaded
server and gunicorn's gthread workers: long-polling, WebSocket and the
upgrade with python-socketio's and npm's clients, the origin check on both
transports, a long-polling client leaving mid-wait, static files, and WSGI
servers that do not expose their socket."""

import base64
import importlib.util
import io
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
import socketio

import socketio_rs
from conftest import NODE_DIR, wait_for

pytest.importorskip('flask')
pytest.importorskip('werkzeug')

HERE = os.path.dirname(os.path.abspath(__file__))

# The app both servers run: a Flask app with the Socket.IO server mounted
# in front of it, as python-socketio's examples do.
APP_SOURCE = '''
import socketio_rs
from flask import Flask

sio = socketio_rs.Server(ping_interval=20, ping_timeout=20)
flask_app = Flask(__name__)
app = socketio_rs.WSGIApp(sio, flask_app)
gone = []


@flask_app.route('/')
def index():
    return 'flask ok'


@sio.event
def connect(sid, environ, auth):
    if not (auth or {}).get('quiet'):
        sio.emit('hello', {'auth': auth, 'bin': b'\\xff\\x00'}, to=sid)


@sio.event
def disconnect(sid, reason):
    gone.append(sid)


@sio.event
def echo(sid, data):
    return data


@sio.event
def ask(sid, question):
    return sio.call('question', question, to=sid, timeout=5)


@sio.event
def kick(sid):
    sio.disconnect(sid)


@sio.event
def gone_sids(sid):
    return list(gone)
'''


class Served:
    def __init__(self, kind, port):
        self.kind = kind
        self.port = port
        self.url = f'http://127.0.0.1:{port}'


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


# Loopback requests never go through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url, headers=None, data=None, timeout=5):
    req = urllib.request.Request(url, headers=headers or {}, data=data)
    try:
        with _OPENER.open(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _werkzeug(d):
    from werkzeug.serving import make_server
    spec = importlib.util.spec_from_file_location('wsgi_app_werkzeug', d / 'wsgi_app_mod.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    logging.getLogger('werkzeug').setLevel(logging.WARNING)
    srv = make_server('127.0.0.1', 0, mod.app, threaded=True)
    t = threading.Thread(target=srv.serve_forever, kwargs={'poll_interval': 0.1}, daemon=True)
    t.start()
    try:
        yield Served('werkzeug', srv.socket.getsockname()[1])
    finally:
        srv.shutdown()
        srv.server_close()
        mod.sio.shutdown()
        t.join(5)


def _gunicorn(d):
    pytest.importorskip('gunicorn')
    log = open(d / 'gunicorn.log', 'w+')
    proc = port = None
    try:
        for _ in range(3):  # another process may take the free port first
            port = _free_port()
            proc = subprocess.Popen(
                [sys.executable, '-m', 'gunicorn', '-k', 'gthread', '--threads', '8', '-w', '1',
                 '-b', f'127.0.0.1:{port}', '--no-control-socket', '--graceful-timeout', '3',
                 '--log-level', 'info', 'wsgi_app_mod:app'],
                cwd=d, stdout=log, stderr=subprocess.STDOUT)
            if wait_for(lambda: proc.poll() is not None or _answers(port), timeout=30,
                        step=0.1) and proc.poll() is None:
                break
            proc.kill()
            proc.wait(5)
            proc = None
        if proc is None:
            log.seek(0)
            pytest.fail('gunicorn did not start:\n' + log.read())
        yield Served('gunicorn', port)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        log.close()


def _answers(port):
    try:
        return _get(f'http://127.0.0.1:{port}/', timeout=1) == (200, b'flask ok')
    except OSError:
        return False


@pytest.fixture(scope='module', params=['werkzeug', 'gunicorn'])
def served(request, tmp_path_factory):
    d = tmp_path_factory.mktemp(request.param)
    (d / 'wsgi_app_mod.py').write_text(APP_SOURCE)
    make = _werkzeug if request.param == 'werkzeug' else _gunicorn
    yield from make(d)


def _gone(url):
    """The sids the server saw disconnect, asked over a fresh connection
    (WebSocket: python-engineio's polling client can lose its close packet,
    and its disconnect() then waits for the next ping)."""
    probe = socketio.Client(reconnection=False)
    probe.connect(url, transports=['websocket'], wait_timeout=5)
    try:
        return probe.call('gone_sids', timeout=5)
    finally:
        probe.disconnect()


TRANSPORTS = [['polling'], ['websocket'], None]
IDS = ['polling', 'websocket', 'upgrade']


def test_flask_routes_still_answer(served):
    assert _get(served.url + '/') == (200, b'flask ok')
    assert _get(served.url + '/missing')[0] == 404


@pytest.mark.parametrize('transports', TRANSPORTS, ids=IDS)
def test_python_socketio_client(served, transports):
    expected = 'polling' if transports == ['polling'] else 'websocket'
    c = socketio.Client(reconnection=False)
    hello, left = [], []
    c.on('hello', hello.append)
    c.on('question', lambda q: 'answer:' + q)
    c.on('disconnect', lambda *a: left.append(a))
    c.connect(served.url, transports=transports, auth={'who': 'py'}, wait_timeout=5)
    try:
        assert wait_for(lambda: hello)
        assert hello == [{'auth': {'who': 'py'}, 'bin': b'\xff\x00'}]
        data = {'bin': b'\x00\x01' * 2000, 'text': 'ü' * 100, 'n': [1, None, True]}
        assert c.call('echo', data, timeout=5) == data
        assert c.call('ask', 'q', timeout=10) == 'answer:q'
        assert wait_for(lambda: c.transport() == expected)
        assert c.call('echo', b'after', timeout=5) == b'after'
        # The server disconnects this one...
        kicked = c.get_sid()
        c.emit('kick')
        assert wait_for(lambda: left)
    finally:
        c.disconnect()
    # ... and this one leaves by itself.
    c2 = socketio.Client(reconnection=False)
    c2.connect(served.url, transports=transports, wait_timeout=5)
    assert wait_for(lambda: c2.transport() == expected)
    assert c2.call('echo', [1, 2], timeout=5) == [1, 2]
    left_sid = c2.get_sid()
    # python-engineio's polling client drops its close packet if its writer
    # is still busy with the previous POST when disconnect() is called.
    time.sleep(0.2)
    c2.disconnect()
    ok = wait_for(lambda: {kicked, left_sid} <= set(_gone(served.url)), timeout=10, step=0.2)
    assert ok, (kicked, left_sid, _gone(served.url))


def _node_modules():
    node = shutil.which('node')
    modules = NODE_DIR / 'node_modules'
    if node is None or not (modules / 'socket.io-client').is_dir():
        pytest.skip('node and `npm ci --prefix tests/node` are needed')
    return node, modules


@pytest.mark.parametrize('transports', TRANSPORTS, ids=IDS)
def test_npm_socketio_client(served, transports):
    node, modules = _node_modules()
    r = subprocess.run([node, os.path.join(HERE, 'wsgi_node_client.mjs'), str(modules),
                        served.url, json.dumps(transports)],
                       capture_output=True, text=True, timeout=30)
    lines = r.stdout.strip().splitlines()
    assert lines, r.stderr
    out = json.loads(lines[-1])
    assert out['ok'], out
    assert out['transport'] == ('polling' if transports == ['polling'] else 'websocket')


def test_origin_check_on_polling(served):
    path = '/socket.io/?EIO=4&transport=polling'
    status, body = _get(served.url + path, {'Origin': 'http://evil.example'})
    assert status == 400
    assert b'Not an accepted origin' in body
    status, body = _get(served.url + path, {'Origin': served.url})
    assert status == 200
    assert body.startswith(b'0{')


def _ws_handshake(port, origin):
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n'
               f'Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
               f'Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n'
               f'Origin: {origin}\r\n\r\n').encode())
    return s


def _read_to_eof(s, deadline=5.0):
    data = b''
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            return data, True
        data += chunk
    return data, False


def test_origin_check_on_websocket(served):
    # A foreign origin: the engine's 400, then the connection ends, and
    # the WSGI server writes nothing after it.
    s = _ws_handshake(served.port, 'http://evil.example')
    with s:
        data, eof = _read_to_eof(s)
    assert eof
    assert data.startswith(b'HTTP/1.1 400 ')
    assert data.count(b'HTTP/1.1') == 1
    assert b'Not an accepted origin' in data

    # Its own origin: 101, the engine's open packet; a close frame from the
    # client ends it, with nothing from the WSGI server after the frames.
    s = _ws_handshake(served.port, served.url)
    with s:
        head = b''
        while b'\r\n\r\n' not in head:
            chunk = s.recv(4096)
            assert chunk, head
            head += chunk
        assert head.startswith(b'HTTP/1.1 101 ')
        # Exactly `Upgrade`: strict clients (tungstenite) refuse more tokens.
        connection = [line.split(b':', 1)[1].strip() for line in head.split(b'\r\n')
                      if line.lower().startswith(b'connection:')]
        assert [c.lower() for c in connection] == [b'upgrade'], head
        rest = head.split(b'\r\n\r\n', 1)[1]
        while not _frames(rest)[0]:
            chunk = s.recv(4096)
            assert chunk
            rest += chunk
        frames, _ = _frames(rest)
        assert frames[0][0] == 0x1 and frames[0][1].startswith(b'0{')  # Engine.IO open
        mask = os.urandom(4)
        payload = (1000).to_bytes(2, 'big')
        s.sendall(bytes([0x88, 0x80 | len(payload)]) + mask +
                  bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        data, eof = _read_to_eof(s)
    assert eof
    frames, left = _frames(rest + data)
    assert left == b''  # WebSocket frames only: nothing from the WSGI server
    assert all(op in (0x1, 0x2, 0x8, 0x9) for op, _ in frames)


def _frames(buf):
    """The complete unmasked WebSocket frames at the start of ``buf``
    (opcode, payload), and what follows them."""
    frames = []
    while len(buf) >= 2:
        n, at = buf[1] & 0x7f, 2
        if n == 126:
            if len(buf) < 4:
                break
            n, at = int.from_bytes(buf[2:4], 'big'), 4
        elif n == 127:
            if len(buf) < 10:
                break
            n, at = int.from_bytes(buf[2:10], 'big'), 10
        if len(buf) < at + n:
            break
        frames.append((buf[0] & 0x0f, buf[at:at + n]))
        buf = buf[at + n:]
    return frames, buf


def test_long_poll_client_leaving(served):
    status, body = _get(served.url + '/socket.io/?EIO=4&transport=polling')
    assert status == 200
    eio_sid = json.loads(body[1:])['sid']
    poll = f'/socket.io/?EIO=4&transport=polling&sid={eio_sid}'
    # Quiet: the server then queues nothing after its connect answer.
    assert _get(served.url + poll, data=b'40{"quiet":true}')[0] == 200
    status, body = _get(served.url + poll)
    assert body.startswith(b'40{') and b'\x1e' not in body
    sio_sid = json.loads(body[2:])['sid']
    # A GET that waits for packets (up to pingInterval, 20 s): its client
    # leaves; the server notices and ends the session at once.
    s = socket.create_connection(('127.0.0.1', served.port), timeout=5)
    s.sendall(f'GET {poll} HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n\r\n'.encode())
    time.sleep(0.3)
    s.close()
    assert wait_for(lambda: sio_sid in _gone(served.url), timeout=8, step=0.3)


def test_serve_client_under_werkzeug():
    from werkzeug.serving import make_server
    from test_serve_client import PACKAGE, check_files
    if not (PACKAGE / 'dist' / 'socket.io.js').is_file():
        pytest.skip('needs `npm ci --prefix tests/node`')
    sio = socketio_rs.Server(serve_client=PACKAGE)
    srv = make_server('127.0.0.1', 0, socketio_rs.WSGIApp(sio), threaded=True)
    t = threading.Thread(target=srv.serve_forever, kwargs={'poll_interval': 0.1}, daemon=True)
    t.start()
    try:
        check_files(f'http://127.0.0.1:{srv.socket.getsockname()[1]}')
    finally:
        srv.shutdown()
        srv.server_close()
        sio.shutdown()
        t.join(5)


def _unix_exchange(path, request, until):
    """Sends ``request`` on the Unix socket ``path``; reads until ``until``
    (a predicate on what came) or EOF. Returns the socket and the bytes."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(path)
    s.sendall(request)
    data = b''
    while not until(data):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return s, data


@pytest.mark.skipif(not hasattr(socket, 'AF_UNIX'), reason='Unix domain sockets')
def test_gunicorn_on_a_unix_socket(tmp_path):
    # As behind a proxy: gunicorn bound to a Unix domain socket.
    pytest.importorskip('gunicorn')
    (tmp_path / 'wsgi_app_mod.py').write_text(APP_SOURCE)
    sock_path = str(tmp_path / 'g.sock')
    with open(tmp_path / 'gunicorn.log', 'w+') as log:
        proc = subprocess.Popen(
            [sys.executable, '-m', 'gunicorn', '-k', 'gthread', '--threads', '4', '-w', '1',
             '-b', f'unix:{sock_path}', '--no-control-socket', '--graceful-timeout', '3',
             'wsgi_app_mod:app'], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
        try:
            def up():
                try:
                    s, data = _unix_exchange(sock_path, b'GET / HTTP/1.0\r\n\r\n',
                                             lambda d: False)
                    s.close()
                    return data[9:12] == b'200' and data.endswith(b'flask ok')
                except OSError:
                    return False

            if not wait_for(lambda: proc.poll() is not None or up(), timeout=30, step=0.1) \
                    or proc.poll() is not None:
                log.seek(0)
                pytest.fail('gunicorn did not start:\n' + log.read())
            s, data = _unix_exchange(
                sock_path, b'GET /socket.io/?EIO=4&transport=polling HTTP/1.0\r\n'
                b'Host: example.com\r\n\r\n', lambda d: False)
            s.close()
            assert data[9:12] == b'200' and b'\r\n\r\n0{' in data
            key = base64.b64encode(os.urandom(16))
            s, data = _unix_exchange(
                sock_path, b'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n'
                b'Host: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
                b'Sec-WebSocket-Key: ' + key + b'\r\nSec-WebSocket-Version: 13\r\n\r\n',
                lambda d: b'\r\n\r\n' in d and _frames(d.split(b'\r\n\r\n', 1)[1])[0])
            with s:
                head, rest = data.split(b'\r\n\r\n', 1)
                assert head.startswith(b'HTTP/1.1 101 ')
                assert _frames(rest)[0][0][1].startswith(b'0{')
                mask = os.urandom(4)
                s.sendall(bytes([0x81, 0x82]) + mask +
                          bytes(b ^ mask[i % 4] for i, b in enumerate(b'40')))
                got = b''
                while len(_frames(got)[0]) < 2:
                    chunk = s.recv(65536)
                    assert chunk
                    got += chunk
                frames = [p for _, p in _frames(got)[0]]
                assert frames[0].startswith(b'40{') and frames[1].startswith(b'451-["hello"')
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


# -- without a server: the WSGI callable itself ------------------------------------


def _call(app, environ):
    out = {}

    def start_response(status, headers, exc_info=None):
        out['status'] = status
        out['headers'] = headers

    body = b''.join(app(environ, start_response))
    return out['status'], dict(out['headers']), body


def _environ(path, query='', scheme='http', **extra):
    env = {
        'REQUEST_METHOD': 'GET', 'PATH_INFO': path, 'QUERY_STRING': query,
        'SERVER_NAME': 'example.com', 'SERVER_PORT': '443' if scheme == 'https' else '80',
        'SERVER_PROTOCOL': 'HTTP/1.1', 'REMOTE_ADDR': '127.0.0.1', 'REMOTE_PORT': '40000',
        'wsgi.url_scheme': scheme, 'wsgi.input': io.BytesIO(), 'HTTP_HOST': 'example.com',
    }
    env.update(extra)
    return env


@pytest.fixture
def sync_sio():
    sio = socketio_rs.Server()
    yield sio
    sio.shutdown()


def test_https_scheme_makes_the_page_origin_our_own(sync_sio):
    app = socketio_rs.WSGIApp(sync_sio)
    q = 'EIO=4&transport=polling'
    status, _, body = _call(app, _environ('/socket.io/', q, 'https',
                                          HTTP_ORIGIN='https://example.com'))
    assert status == '200 OK' and body.startswith(b'0{')
    status, _, _ = _call(app, _environ('/socket.io/', q, 'http',
                                       HTTP_ORIGIN='https://example.com'))
    assert status.startswith('400')
    status, _, _ = _call(app, _environ('/socket.io/', q, 'https',
                                       HTTP_ORIGIN='https://evil.example'))
    assert status.startswith('400')


def test_websocket_refused_without_the_servers_socket(sync_sio, caplog):
    app = socketio_rs.WSGIApp(sync_sio)
    env = _environ('/socket.io/', 'EIO=4&transport=websocket', HTTP_UPGRADE='websocket',
                   HTTP_CONNECTION='keep-alive, Upgrade')
    with caplog.at_level(logging.INFO, logger='socketio_rs'):
        status, _, body = _call(app, env)
    assert status == '400 Bad Request'
    assert b'WebSocket' in body
    assert any('does not expose its socket' in r.getMessage() and r.levelno == logging.ERROR
               for r in caplog.records)
    # Long-polling still works there.
    status, _, body = _call(app, _environ('/socket.io/', 'EIO=4&transport=polling'))
    assert status == '200 OK' and body.startswith(b'0{')


def test_other_paths_and_middleware(sync_sio):
    from flask import Flask
    flask_app = Flask('other')
    flask_app.add_url_rule('/page', 'page', lambda: 'page')
    for cls in (socketio_rs.WSGIApp, socketio_rs.Middleware):
        app = cls(sync_sio, flask_app)
        assert isinstance(app, socketio_rs.WSGIApp)
        assert _call(app, _environ('/page'))[::2] == ('200 OK', b'page')
        assert _call(app, _environ('/socket.io/', 'EIO=4&transport=polling'))[0] == '200 OK'
    status, _, body = _call(socketio_rs.WSGIApp(sync_sio), _environ('/page'))
    assert (status, body) == ('404 Not Found', b'Not Found')
    with pytest.raises(ValueError):
        socketio_rs.WSGIApp(socketio_rs.AsyncServer())


@pytest.fixture
def static_tree(tmp_path):
    public = tmp_path / 'public'
    (public / 'sub').mkdir(parents=True)
    (public / 'app.js').write_text('js!')
    (public / 'sub' / 'index.html').write_text('<p>sub</p>')
    (tmp_path / 'index.html').write_text('<p>index</p>')
    (tmp_path / 'secret.txt').write_text('secret')
    return {
        '/': str(tmp_path / 'index.html'),
        '/static': str(public),
        '/doc.txt': {'filename': str(tmp_path / 'secret.txt'), 'content_type': 'x/custom'},
    }


def test_static_files(sync_sio, static_tree):
    app = socketio_rs.WSGIApp(sync_sio, static_files=static_tree)
    status, headers, body = _call(app, _environ('/'))
    assert (status, headers['Content-Type'], body) == ('200 OK', 'text/html', b'<p>index</p>')
    status, headers, body = _call(app, _environ('/static/app.js'))
    assert (headers['Content-Type'], body) == ('application/javascript', b'js!')
    assert _call(app, _environ('/static/sub/'))[2] == b'<p>sub</p>'
    assert _call(app, _environ('/doc.txt'))[1]['Content-Type'] == 'x/custom'
    assert _call(app, _environ('/static/missing.js'))[0] == '404 Not Found'
    assert _call(app, _environ('/static/../secret.txt'))[0] == '404 Not Found'


def test_asgi_static_files(static_tree):
    import asyncio

    async def main():
        sio = socketio_rs.AsyncServer(async_mode='asgi')
        app = socketio_rs.ASGIApp(sio, static_files=static_tree)
        sent = []

        async def receive():
            return {'type': 'http.request', 'body': b'', 'more_body': False}

        async def send(msg):
            sent.append(msg)

        scope = {'type': 'http', 'method': 'GET', 'path': '/static/app.js', 'headers': [],
                 'query_string': b''}
        await app(scope, receive, send)
        return sent

    sent = asyncio.run(main())
    assert sent[0]['status'] == 200
    assert (b'content-type', b'application/javascript') in sent[0]['headers']
    assert sent[1]['body'] == b'js!'


def test_socketio_path_none_serves_every_path():
    """``WSGIApp(sio, socketio_path=None)``: every request is the server's,
    whatever its path (an outer layer routes them), over long-polling and
    the WebSocket taken from werkzeug; the other app is not asked."""
    from werkzeug.serving import make_server
    sio = socketio_rs.Server()

    @sio.event
    def echo(sid, data):
        return data

    def other(environ, start_response):
        raise AssertionError('the other app is ignored with socketio_path=None')

    srv = make_server('127.0.0.1', 0, socketio_rs.WSGIApp(sio, other, socketio_path=None),
                      threaded=True)
    t = threading.Thread(target=srv.serve_forever, kwargs={'poll_interval': 0.1}, daemon=True)
    t.start()
    try:
        url = f'http://127.0.0.1:{srv.socket.getsockname()[1]}'
        for transports in (['polling'], ['websocket']):
            c = socketio.Client()
            c.connect(url, socketio_path='/mounted/elsewhere', transports=transports,
                      wait_timeout=5)
            assert c.transport() == transports[0]
            assert c.call('echo', {'n': 1}, timeout=5) == {'n': 1}
            c.disconnect()
    finally:
        srv.shutdown()
        srv.server_close()
        sio.shutdown()
        t.join(5)
