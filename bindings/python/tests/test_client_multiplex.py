"""``Client`` / ``AsyncClient`` as python-socketio's: the namespaces of a
client share one Engine.IO connection (two clients make two),
``transport()`` is the transport in use, ``url`` / ``headers`` / ``auth``
callables are called again on every reconnection attempt, and a client
that is done holds no thread and no file descriptor."""

import asyncio
import gc
import logging
import os
import threading
import time
import weakref

import pytest

import socketio_rs
from conftest import wait_for

NAMESPACES = ['/', '/a', '/b']


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def eventually(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        await asyncio.sleep(0.01)
    return bool(pred())


class PySocketIOServer:
    """python-socketio's ``Server`` under werkzeug's threaded server, on
    loopback port 0: it tells which Engine.IO session each namespace
    connection came on."""

    def __init__(self):
        import socketio
        from werkzeug.serving import make_server

        logging.getLogger('werkzeug').setLevel(logging.ERROR)
        self.sio = socketio.Server(async_mode='threading')
        self.connections = []  # (namespace, sid, Engine.IO sid)
        self.disconnections = []
        for ns in NAMESPACES:
            self.sio.on('connect', self._connect(ns), namespace=ns)
            self.sio.on('disconnect', self._disconnect(ns), namespace=ns)
        self.http = make_server('127.0.0.1', 0, socketio.WSGIApp(self.sio), threaded=True)
        self.url = f'http://127.0.0.1:{self.http.server_port}'
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def _connect(self, ns):
        def handler(sid, environ, auth=None):
            self.connections.append((ns, sid, self.sio.manager.eio_sid_from_sid(sid, ns)))
        return handler

    def _disconnect(self, ns):
        def handler(sid, *args):
            self.disconnections.append((ns, sid))
        return handler

    def sessions(self, sids=None):
        """The Engine.IO sessions of the connections (of those sids)."""
        return {eio for _, sid, eio in self.connections if sids is None or sid in sids}

    def close(self):
        self.http.shutdown()
        self.thread.join(5)


@pytest.fixture
def py_server():
    servers = []

    def start():
        s = PySocketIOServer()
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.close()


# -- one connection per client ----------------------------------------------


def test_namespaces_share_one_session_and_clients_do_not(py_server):
    srv = py_server()
    one = socketio_rs.Client(reconnection=False)
    two = socketio_rs.Client(reconnection=False)
    try:
        one.connect(srv.url, namespaces=NAMESPACES)
        assert set(one.namespaces) == set(NAMESPACES)
        assert wait_for(lambda: len(srv.connections) == 3)
        assert len(srv.sessions()) == 1
        assert len(srv.sio.eio.sockets) == 1

        two.connect(srv.url, namespaces=['/a', '/b'])
        assert wait_for(lambda: len(srv.connections) == 5)
        one_sids = set(one.namespaces.values())
        two_sids = set(two.namespaces.values())
        assert len(srv.sessions(one_sids)) == 1
        assert len(srv.sessions(two_sids)) == 1
        assert srv.sessions(one_sids) != srv.sessions(two_sids)
        assert len(srv.sio.eio.sockets) == 2

        # Every event of every namespace goes over that one session.
        got = []
        for ns in NAMESPACES:
            one.on('ping', lambda ns=ns: got.append(ns), namespace=ns)
        for ns in NAMESPACES:
            srv.sio.emit('ping', namespace=ns, to=one.get_sid(ns))
        assert wait_for(lambda: sorted(got) == NAMESPACES)

        # disconnect() leaves every namespace.
        one.disconnect()
        assert not one.connected and one.namespaces == {}
        assert wait_for(lambda: len(srv.disconnections) == 3)
        assert {ns for ns, _ in srv.disconnections} == set(NAMESPACES)
        assert two.connected
    finally:
        one.disconnect()
        two.disconnect()


def test_async_namespaces_share_one_session(py_server):
    srv = py_server()

    async def main():
        one = socketio_rs.AsyncClient(reconnection=False)
        two = socketio_rs.AsyncClient(reconnection=False)
        await one.connect(srv.url, namespaces=NAMESPACES)
        await two.connect(srv.url, namespaces=NAMESPACES)
        try:
            assert await eventually(lambda: len(srv.connections) == 6)
            one_sids = set(one.namespaces.values())
            two_sids = set(two.namespaces.values())
            assert len(one_sids) == len(two_sids) == 3
            assert len(srv.sessions(one_sids)) == 1
            assert len(srv.sessions(two_sids)) == 1
            assert len(srv.sessions()) == 2
        finally:
            await one.disconnect()
            await two.disconnect()
        assert await eventually(lambda: len(srv.disconnections) == 6)

    run(main())


def test_connect_waits_for_every_namespace(sync_server):
    def setup(sio):
        @sio.on('connect', namespace='/slow')
        def slow(sid, environ, auth):
            time.sleep(0.3)

        @sio.on('connect', namespace='/no')
        def refuse(sid, environ, auth):
            raise socketio_rs.exceptions.ConnectionRefusedError('not here')

        sio.on('connect', lambda sid, environ, auth: None, namespace='/fast')

    sio, url = sync_server(setup)
    c = socketio_rs.Client(reconnection=False)
    c.connect(url, namespaces=['/fast', '/slow'])
    try:
        assert set(c.namespaces) == {'/fast', '/slow'}
    finally:
        c.disconnect()
    errors = []
    c.on('connect_error', errors.append, namespace='/no')
    with pytest.raises(socketio_rs.exceptions.ConnectionError) as e:
        c.connect(url, namespaces=['/fast', '/no'])
    assert '/no' in str(e.value) and 'not here' in str(e.value)
    assert errors == [{'message': 'not here'}]
    assert not c.connected


def test_one_connection_with_the_npm_server(node_server):
    peer = node_server()
    c = socketio_rs.Client(reconnection=False)
    c.connect(peer.url, namespaces=['/', '/admin'])
    try:
        assert c.call('info')['conn'] == c.call('info', namespace='/admin')['conn']
        d = socketio_rs.Client(reconnection=False)
        d.connect(peer.url, namespaces=['/admin'])
        assert d.call('info', namespace='/admin')['conn'] != c.call('info')['conn']
        d.disconnect()
    finally:
        c.disconnect()


# -- transport() --------------------------------------------------------------


def test_transport_is_the_one_in_use(sync_server):
    sio, url = sync_server()
    c = socketio_rs.Client(reconnection=False)
    assert c.transport() is None
    c.connect(url)
    try:
        # Back from connect() once upgraded, as python-socketio. The
        # server switches when the upgrade packet reaches it, which may be
        # a moment after the client sent it.
        assert c.transport() == 'websocket'
        assert wait_for(lambda: sio.transport(c.sid) == 'websocket'), \
            sio.transport(c.sid)
    finally:
        c.disconnect()
    assert c.transport() == 'websocket'  # the last one, as python-engineio

    p = socketio_rs.Client(reconnection=False)
    p.connect(url, transports=['polling'], namespaces=['/'])
    try:
        time.sleep(0.2)
        assert p.transport() == 'polling'
        assert sio.transport(p.sid) == 'polling'
    finally:
        p.disconnect()

    w = socketio_rs.Client(reconnection=False)
    w.connect(url, transports='websocket')
    try:
        assert w.transport() == 'websocket'
    finally:
        w.disconnect()


def test_transport_stays_polling_when_the_server_has_no_websocket(sync_server):
    sio, url = sync_server(transports=['polling'])
    c = socketio_rs.Client(reconnection=False)
    t0 = time.monotonic()
    c.connect(url)
    try:
        assert time.monotonic() - t0 < 2  # no wait for an upgrade that never comes
        assert c.transport() == 'polling'
    finally:
        c.disconnect()


def test_async_transport():
    async def main():
        sio = socketio_rs.AsyncServer()
        host, port = await sio.listen('127.0.0.1', 0)
        url = f'http://{host}:{port}'
        c = socketio_rs.AsyncClient(reconnection=False)
        await c.connect(url)
        assert c.transport() == 'websocket'
        await c.disconnect()
        p = socketio_rs.AsyncClient(reconnection=False)
        await p.connect(url, transports=['polling'])
        await asyncio.sleep(0.2)
        assert p.transport() == 'polling'
        await p.disconnect()
        await sio.shutdown()

    run(main())


# -- url, headers, auth as callables ----------------------------------------------


def _recording_server(start, seen):
    def setup(sio):
        @sio.event
        def connect(sid, environ, auth):
            seen.append((environ.get('HTTP_X_ATTEMPT'), auth))

    return start(setup)


def test_callables_are_called_on_every_reconnection_attempt(sync_server):
    seen_a, seen_b = [], []
    sio_a, url_a = _recording_server(sync_server, seen_a)
    calls = {'url': 0, 'headers': 0, 'auth': 0}
    target = [url_a]

    def url():
        calls['url'] += 1
        return target[0]

    def headers():
        calls['headers'] += 1
        return {'X-Attempt': str(calls['headers'])}

    def auth():
        calls['auth'] += 1
        return {'n': calls['auth']}

    c = socketio_rs.Client(reconnection_delay=0.05, reconnection_delay_max=0.1,
                           randomization_factor=0)
    connects, reasons = [], []
    c.on('connect', lambda: connects.append(c.sid))
    c.on('disconnect', reasons.append)
    c.connect(url, headers=headers, auth=auth)
    try:
        assert c.connection_url is url and c.connection_auth is auth
        assert calls == {'url': 1, 'headers': 1, 'auth': 1}
        assert wait_for(lambda: seen_a == [('1', {'n': 1})])

        # The server goes away; the next attempts go where url() says: first
        # nowhere (refused), then to another server.
        sio_b, url_b = _recording_server(sync_server, seen_b)
        target[0] = 'http://127.0.0.1:9'
        sio_a.shutdown()
        assert wait_for(lambda: calls['url'] >= 3, timeout=10)
        target[0] = url_b
        assert wait_for(lambda: c.connected and len(connects) == 2, timeout=10)
        assert reasons[0] in ('transport close', 'transport error')
        n = seen_b[0][1]['n']
        assert n >= 3 and seen_b == [(str(n), {'n': n})]
        assert calls['url'] == calls['headers'] == calls['auth'] == n
    finally:
        c.disconnect()
    assert not c.connected
    # No more attempts once disconnected.
    settled = dict(calls)
    time.sleep(0.3)
    assert calls == settled


def test_callables_give_up_after_the_attempts(sync_server):
    seen = []
    sio, url = _recording_server(sync_server, seen)
    calls = []

    def url_fn():
        calls.append(1)
        return url if len(calls) == 1 else 'http://127.0.0.1:9'

    c = socketio_rs.Client(reconnection_attempts=2, reconnection_delay=0.05,
                           reconnection_delay_max=0.05, randomization_factor=0)
    c.connect(url_fn)
    sio.shutdown()
    done = threading.Event()
    threading.Thread(target=lambda: (c.wait(), done.set()), daemon=True).start()
    assert done.wait(10)
    assert len(calls) == 3  # the connection, then two attempts
    assert not c.connected


def test_async_callables_and_coroutine_functions(sync_server):
    seen_a, seen_b = [], []
    sio_a, url_a = _recording_server(sync_server, seen_a)
    sio_b, url_b = _recording_server(sync_server, seen_b)
    calls = {'url': 0, 'auth': 0}

    def url():
        calls['url'] += 1
        return url_a if calls['url'] == 1 else url_b

    async def auth():
        await asyncio.sleep(0)
        calls['auth'] += 1
        return {'n': calls['auth']}

    async def main():
        c = socketio_rs.AsyncClient(reconnection_delay=0.05, reconnection_delay_max=0.1,
                                    randomization_factor=0)
        connects = []
        c.on('connect', lambda: connects.append(1))
        await c.connect(url, auth=auth, headers={'X-Attempt': 'static'})
        assert seen_a == [('static', {'n': 1})] or await eventually(
            lambda: seen_a == [('static', {'n': 1})])
        await asyncio.get_running_loop().run_in_executor(None, sio_a.shutdown)
        assert await eventually(lambda: c.connected and len(connects) == 2, timeout=10)
        assert await eventually(lambda: seen_b == [('static', {'n': 2})])
        assert calls == {'url': 2, 'auth': 2}
        await c.disconnect()
        await asyncio.sleep(0.3)
        assert calls == {'url': 2, 'auth': 2}
        await asyncio.wait_for(c.wait(), 5)

    run(main())


def test_a_server_disconnect_is_final_with_callables(sync_server):
    seen = []
    sio, url = _recording_server(sync_server, seen)
    calls = []

    def auth():
        calls.append(1)
        return {'n': len(calls)}

    c = socketio_rs.Client(reconnection_delay=0.05, reconnection_delay_max=0.1,
                           randomization_factor=0)
    reasons = []
    c.on('disconnect', reasons.append)
    c.connect(url, auth=auth)
    assert wait_for(lambda: len(seen) == 1)
    sio.disconnect(c.sid)
    done = threading.Event()
    threading.Thread(target=lambda: (c.wait(), done.set()), daemon=True).start()
    assert done.wait(5)
    assert reasons == ['server disconnect']
    time.sleep(0.3)
    assert len(calls) == 1 and len(seen) == 1 and not c.connected


# -- nothing left behind ----------------------------------------------------------


def _with_a(sio):
    sio.on('connect', lambda sid, environ, auth: None, namespace='/a')


def _threads():
    """The client worker threads of the process (the servers of the tests
    have workers of their own, which come and go with their load)."""
    n = 0
    for tid in os.listdir('/proc/self/task'):
        try:
            with open(f'/proc/self/task/{tid}/comm') as f:
                name = f.read().strip()
        except OSError:
            continue
        if name.startswith(('socketio-client', 'socketio-asynci', 'socketio-rs-rec')):
            n += 1
    return n


def _fds():
    return len(os.listdir('/proc/self/fd'))


def _settles(measure, limit, timeout=10.0):
    return wait_for(lambda: measure() <= limit, timeout=timeout, step=0.05)


@pytest.mark.skipif(not os.path.isdir('/proc/self/fd'), reason='needs /proc')
def test_disconnected_clients_hold_no_thread_or_fd(sync_server):
    sio, url = sync_server(_with_a)

    def cycle():
        c = socketio_rs.Client(reconnection=False)
        c.on('connect', lambda: None, namespace='/a')
        c.connect(url, namespaces=['/', '/a'])
        assert c.connected
        c.disconnect()
        return c

    kept = [cycle()]  # warms up the runtime and the server
    time.sleep(0.3)
    base = (threading.active_count(), _fds())
    for _ in range(40):
        kept.append(cycle())  # kept alive: disconnecting must be enough
    assert _settles(threading.active_count, base[0])
    assert _settles(_threads, 0)
    assert _settles(_fds, base[1] + 2), (base, _fds())

    # A client dropped while connected is collected, with its worker.
    c = socketio_rs.Client(reconnection=False)
    c.connect(url)
    ref = weakref.ref(c)
    del c
    gc.collect()
    assert ref() is None
    assert _settles(_threads, 0)
    assert _settles(threading.active_count, base[0])
    assert _settles(_fds, base[1] + 2), (base, _fds())


@pytest.mark.skipif(not os.path.isdir('/proc/self/fd'), reason='needs /proc')
def test_async_clients_hold_no_fd(sync_server):
    sio, url = sync_server(_with_a)

    async def cycle():
        c = socketio_rs.AsyncClient(reconnection=False)
        await c.connect(url, namespaces=['/', '/a'])
        assert c.connected
        await c.disconnect()
        return c

    async def main():
        kept = [await cycle()]
        await asyncio.sleep(0.3)
        base = (threading.active_count(), _fds())
        for _ in range(40):
            kept.append(await cycle())
        for _ in range(200):
            if _fds() <= base[1] + 2 and _threads() == 0:
                break
            await asyncio.sleep(0.05)
        assert _fds() <= base[1] + 2, (base, _fds())
        assert _threads() == 0 and threading.active_count() == base[0]
        c = socketio_rs.AsyncClient(reconnection=False)
        await c.connect(url)
        ref = weakref.ref(c)
        del c
        gc.collect()
        assert ref() is None

    run(main())
