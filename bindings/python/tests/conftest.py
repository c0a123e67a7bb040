"""Fixtures: our servers on loopback port 0, python-socketio clients, and
the npm socket.io server as a peer for our clients."""

import json
import os
import pathlib
import shutil
import subprocess
import threading
import time

import pytest

import socketio_rs

ROOT = pathlib.Path(__file__).resolve().parents[3]
NODE_DIR = ROOT / 'tests' / 'node'


def wait_for(pred, timeout=5.0, step=0.01):
    """Polls ``pred`` until it is true or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return bool(pred())


@pytest.fixture
def sync_server():
    """A started ``Server`` factory: ``sio, url = sync_server(setup)``."""
    servers = []

    def start(setup=None, **kwargs):
        sio = socketio_rs.Server(**kwargs)
        if setup is not None:
            setup(sio)
        host, port = sio.listen('127.0.0.1', 0)
        servers.append(sio)
        return sio, f'http://{host}:{port}'

    yield start
    for s in servers:
        s.shutdown()


@pytest.fixture
def sio_client():
    """python-socketio ``Client`` instances, disconnected at the end."""
    import socketio
    clients = []

    def make(**kwargs):
        c = socketio.Client(**kwargs)
        clients.append(c)
        return c

    yield make
    for c in clients:
        try:
            c.disconnect()
        except Exception:
            pass


class NodePeer:
    """The npm socket.io server of tests/node/server-sio.mjs."""

    def __init__(self, options=None):
        node = shutil.which('node')
        if node is None or not (NODE_DIR / 'node_modules' / 'socket.io').is_dir():
            pytest.skip('node and `npm ci --prefix tests/node` are needed')
        self.proc = subprocess.Popen(
            [node, str(NODE_DIR / 'server-sio.mjs'), json.dumps(options or {})],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lines = []
        first = self.proc.stdout.readline()
        self.port = json.loads(first)['port']
        self.url = f'http://127.0.0.1:{self.port}'
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.lines.append(json.loads(line))
            except ValueError:
                pass

    def events(self, name):
        return [e for e in list(self.lines) if e.get('event') == name]

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def node_server():
    peers = []

    def start(options=None):
        p = NodePeer(options)
        peers.append(p)
        return p

    yield start
    for p in peers:
        p.close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # requests (python-socketio's HTTP client) must not send loopback
    # traffic to a proxy from the environment.
    monkeypatch.setenv('NO_PROXY', '127.0.0.1,localhost')
    for k in ('HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy'):
        monkeypatch.delenv(k, raising=False)
    yield


class uvicorn_server:
    """``async with uvicorn_server(app) as url``: ``app`` served by uvicorn
    on a loopback port of the running loop (``https`` with ``ssl_keyfile``
    / ``ssl_certfile``), stopped on exit."""

    def __init__(self, app, **config):
        import uvicorn
        self.server = uvicorn.Server(uvicorn.Config(
            app, host='127.0.0.1', port=0, log_level='warning', lifespan='off', **config))
        self.scheme = 'https' if 'ssl_certfile' in config else 'http'
        self.serving = None

    async def __aenter__(self):
        import asyncio
        self.serving = asyncio.ensure_future(self.server.serve())
        for _ in range(500):
            if self.server.started or self.serving.done():
                break
            await asyncio.sleep(0.01)
        if not self.server.started:
            raise RuntimeError('uvicorn did not start')
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f'{self.scheme}://127.0.0.1:{port}'

    async def __aexit__(self, *exc):
        import asyncio
        self.server.should_exit = True
        await asyncio.wait_for(self.serving, 10)


def pytest_report_header(config):
    return f'socketio_rs {socketio_rs.__version__} from {os.path.dirname(socketio_rs.__file__)}'
