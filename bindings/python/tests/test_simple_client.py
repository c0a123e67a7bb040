"""``socketio_rs.SimpleClient`` and ``AsyncSimpleClient`` against our
servers (``Server``, ``AsyncServer``) and python-socketio's (``AsyncServer``
as an ASGI app under uvicorn); reconnections through a loopback TCP relay
the tests can cut."""

import asyncio
import os
import socket
import threading
import time

from unittest import mock

import pytest

import socketio_rs
from conftest import wait_for
from socketio_rs.exceptions import ConnectionError, DisconnectedError, TimeoutError  # noqa: A004


# -- helpers -----------------------------------------------------------------


class Relay:
    """A loopback TCP relay to ``port``: ``cut()`` closes the connections
    it carries (the client sees its transport close), ``refuse()`` closes
    new ones at once, ``accept()`` relays again."""

    def __init__(self, port):
        self.target = ('127.0.0.1', port)
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.port = self.listener.getsockname()[1]
        self.url = f'http://127.0.0.1:{self.port}'
        self.refusing = False
        self.lock = threading.Lock()
        self.conns = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                down, _ = self.listener.accept()
            except OSError:
                return
            if self.refusing:
                down.close()
                continue
            try:
                up = socket.create_connection(self.target, timeout=5)
                up.settimeout(None)
            except OSError:
                down.close()
                continue
            with self.lock:
                self.conns.update((down, up))
            threading.Thread(target=self._pump, args=(down, up), daemon=True).start()
            threading.Thread(target=self._pump, args=(up, down), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        with self.lock:
            conns, self.conns = self.conns, set()
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def refuse(self):
        self.refusing = True

    def accept(self):
        self.refusing = False

    def close(self):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        self.cut()


@pytest.fixture
def relay():
    relays = []

    def start(port):
        r = Relay(port)
        relays.append(r)
        return r

    yield start
    for r in relays:
        r.close()


def port_of(url):
    return int(url.rsplit(':', 1)[1])


def setup_chat(seen, namespace='/chat'):
    """Handlers of our ``Server`` in ``namespace``: a ``hello`` with the sid
    on connect, ``echo`` sends its arguments back as an event, ``sum``
    acknowledges, ``pair`` acknowledges with two values, ``bye`` sends
    ``last`` and disconnects the client, ``nobody`` has no handler."""

    def setup(sio):
        @sio.on('connect', namespace=namespace)
        def connect(sid, environ, auth):
            seen.append(('connect', sid, auth, environ.get('HTTP_X_TOKEN'),
                         sio.transport(sid, namespace=namespace)))
            sio.emit('hello', sid, to=sid, namespace=namespace)

        @sio.on('disconnect', namespace=namespace)
        def disconnect(sid, reason):
            seen.append(('disconnect', sid, reason))

        @sio.on('echo', namespace=namespace)
        def echo(sid, *args):
            sio.emit('echo', args, to=sid, namespace=namespace)

        @sio.on('sum', namespace=namespace)
        def total(sid, a, b):
            return a + b

        @sio.on('pair', namespace=namespace)
        def pair(sid, data):
            return data, len(data)

        @sio.on('note', namespace=namespace)
        def note(sid, data):
            seen.append(('note', data))

        @sio.on('bye', namespace=namespace)
        def bye(sid):
            sio.emit('last', 'words', to=sid, namespace=namespace)
            sio.disconnect(sid, namespace=namespace)

    return setup


def events(seen, kind):
    return [e for e in list(seen) if e[0] == kind]


# -- SimpleClient against our Server -----------------------------------------


def test_round_trip_auth_headers_namespace(sync_server):
    seen = []
    sio, url = sync_server(setup_chat(seen))
    with socketio_rs.SimpleClient(reconnection=False) as c:
        assert not c.connected and c.sid is None and c.transport == ''
        c.connect(url, headers={'X-Token': 'h'}, auth={'token': 'a'}, namespace='/chat')
        assert c.connected and c.namespace == '/chat'
        assert c.client.reconnection is False  # the constructor's arguments
        hello = c.receive(timeout=5)
        assert hello == ['hello', c.sid]
        assert events(seen, 'connect') == [('connect', c.sid, {'token': 'a'}, 'h', mock.ANY)]
        assert events(seen, 'connect')[0][4] in ('polling', 'websocket')
        assert c.transport == 'websocket'
        c.emit('echo', (1, 'two', b'\x03\x04', {'n': None}))
        assert c.receive(timeout=5) == ['echo', 1, 'two', b'\x03\x04', {'n': None}]
        c.emit('echo')
        assert c.receive(timeout=5) == ['echo']
        c.emit('echo', [1, 2])
        assert c.receive(timeout=5) == ['echo', [1, 2]]
        assert c.call('sum', (2, 3)) == 5
        assert c.call('pair', 'abc', timeout=5) == ('abc', 3)
        with pytest.raises(RuntimeError):
            c.connect(url, namespace='/chat')
        sid = c.sid
    assert not c.connected and c.client is None and c.sid is None
    assert wait_for(lambda: events(seen, 'disconnect'))
    assert events(seen, 'disconnect') == [('disconnect', sid, 'client disconnect')]
    with pytest.raises(DisconnectedError):
        c.emit('echo', 1)
    with pytest.raises(DisconnectedError):
        c.call('sum', (1, 2))
    with pytest.raises(DisconnectedError):
        c.receive(timeout=5)
    c.disconnect()  # again: nothing to do


def test_events_are_received_in_order_with_polling(sync_server):
    seen = []
    sio, url = sync_server(setup_chat(seen, namespace='/'))
    c = socketio_rs.SimpleClient()
    c.connect(url, transports=['polling'])
    try:
        assert c.transport == 'polling'
        assert c.receive(timeout=5) == ['hello', c.sid]
        assert events(seen, 'connect')[0][4] == 'polling'
        for i in range(50):
            c.emit('echo', i)
        assert [c.receive(timeout=5) for _ in range(50)] == [['echo', i] for i in range(50)]
        assert c.call('sum', ('a', 'b')) == 'ab'
    finally:
        c.disconnect()
    assert not c.connected


def test_call_and_receive_timeouts(sync_server):
    seen = []
    sio, url = sync_server(setup_chat(seen))
    with socketio_rs.SimpleClient() as c:
        # Before connecting nothing comes.
        with pytest.raises(TimeoutError):
            c.receive(timeout=0.05)
        c.connect(url, namespace='/chat')
        assert c.receive(timeout=5)[0] == 'hello'
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            c.call('nobody', 'x', timeout=0.3)
        assert 0.25 <= time.monotonic() - start < 5
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            c.receive(timeout=0.2)
        assert 0.15 <= time.monotonic() - start < 5
        with pytest.raises(TimeoutError):
            c.receive(timeout=0)
        # Still connected and working.
        assert c.connected
        assert c.call('sum', (1, 1)) == 2


def test_server_disconnect_ends_the_session(sync_server):
    seen = []
    sio, url = sync_server(setup_chat(seen))
    c = socketio_rs.SimpleClient()  # reconnection on: a server disconnect is final anyway
    c.connect(url, namespace='/chat')
    assert c.receive(timeout=5)[0] == 'hello'
    c.emit('bye')
    # What came before the disconnect is still received, then it raises.
    assert c.receive(timeout=5) == ['last', 'words']
    with pytest.raises(DisconnectedError):
        c.receive(timeout=5)
    assert not c.connected
    with pytest.raises(DisconnectedError):
        c.emit('echo', 1)
    with pytest.raises(DisconnectedError):
        c.call('sum', (1, 2))
    # A new connection can be made with the same object.
    c.connect(url, namespace='/chat')
    try:
        assert c.connected
        assert c.receive(timeout=5) == ['hello', c.sid]
        assert c.call('sum', (1, 2)) == 3
    finally:
        c.disconnect()
    assert wait_for(lambda: len(events(seen, 'disconnect')) == 2)
    assert [e[2] for e in events(seen, 'disconnect')] == ['server disconnect',
                                                          'client disconnect']


def test_disconnect_wakes_a_waiting_receive(sync_server):
    sio, url = sync_server(setup_chat([]))
    c = socketio_rs.SimpleClient()
    c.connect(url, namespace='/chat')
    assert c.receive(timeout=5)[0] == 'hello'
    outcome = []

    def receiver():
        try:
            outcome.append(c.receive())  # no timeout
        except Exception as e:  # noqa: BLE001 - recorded for the assertion
            outcome.append(e)

    t = threading.Thread(target=receiver, daemon=True)
    t.start()
    c.disconnect()
    t.join(10)
    assert not t.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], DisconnectedError)


def test_one_object_many_connections(sync_server):
    seen = []

    def setup(sio):
        setup_chat(seen, namespace='/')(sio)
        setup_chat(seen, namespace='/chat')(sio)

    sio, url = sync_server(setup)

    def os_threads():
        return len(os.listdir('/proc/self/task')) if os.path.isdir('/proc/self/task') else 0

    c = socketio_rs.SimpleClient(reconnection=False)
    base = None
    for i in range(10):
        namespace = '/chat' if i % 2 else '/'
        c.connect(url, namespace=namespace, transports=['websocket'] if i % 3 else None)
        assert c.namespace == namespace
        assert c.receive(timeout=5) == ['hello', c.sid]
        assert c.call('sum', (i, 1)) == i + 1
        c.disconnect()
        with pytest.raises(DisconnectedError):
            c.receive(timeout=5)
        if base is None:
            base = os_threads()
    # One underlying client (and worker thread) serves every connection.
    assert os_threads() <= base + 4
    assert wait_for(lambda: len(events(seen, 'disconnect')) == 10)


def test_refused_connection(sync_server):
    def setup(sio):
        @sio.event
        def connect(sid, environ, auth):
            if auth != {'token': 'good'}:
                raise socketio_rs.exceptions.ConnectionRefusedError('bad token')

    sio, url = sync_server(setup)
    c = socketio_rs.SimpleClient(reconnection=False)
    with pytest.raises(ConnectionError):
        c.connect(url, auth={'token': 'bad'})
    assert not c.connected
    c.connect(url, auth={'token': 'good'})
    try:
        assert c.connected and c.sid
    finally:
        c.disconnect()


def test_socketio_path():
    sio = socketio_rs.Server()

    @sio.event
    def ping(sid):
        return 'pong'

    host, port = sio.listen('127.0.0.1', 0, socketio_path='custom-io')
    try:
        with socketio_rs.SimpleClient(reconnection=False) as c:
            c.connect(f'http://{host}:{port}', socketio_path='custom-io')
            assert c.call('ping') == 'pong'
    finally:
        sio.shutdown()


def test_reconnects_and_emit_waits_for_it(sync_server, relay):
    seen = []
    sio, url = sync_server(setup_chat(seen))
    r = relay(port_of(url))
    c = socketio_rs.SimpleClient(reconnection_delay=0.05, reconnection_delay_max=0.1,
                                  randomization_factor=0)
    c.connect(r.url, namespace='/chat', transports=['websocket'])
    try:
        first = c.sid
        assert c.receive(timeout=5) == ['hello', first]
        r.refuse()
        r.cut()
        # Reconnecting: connected stays true, emit waits.
        assert wait_for(lambda: not c.connected_event.is_set(), timeout=10)
        assert c.connected
        sent = threading.Event()

        def emitter():
            c.emit('note', 'while away')
            sent.set()

        t = threading.Thread(target=emitter, daemon=True)
        t.start()
        r.accept()
        assert c.receive(timeout=10)[0] == 'hello'  # from the new connection
        assert sent.wait(10)
        t.join(10)
        assert c.sid and c.sid != first
        assert wait_for(lambda: events(seen, 'note') == [('note', 'while away')])
        assert c.call('sum', (1, 2), timeout=10) == 3
        assert wait_for(lambda: events(seen, 'disconnect'))
        assert events(seen, 'disconnect')[0][2] in ('transport close', 'transport error')
    finally:
        c.disconnect()


def test_call_interrupted_by_a_drop(sync_server, relay):
    entered, release = threading.Event(), threading.Event()

    def setup(sio):
        setup_chat([])(sio)

        @sio.on('hang', namespace='/chat')
        def hang(sid):
            entered.set()
            release.wait(10)
            return 'late'

    sio, url = sync_server(setup)
    r = relay(port_of(url))
    c = socketio_rs.SimpleClient(reconnection_delay=0.05, reconnection_delay_max=0.1,
                                  randomization_factor=0)
    c.connect(r.url, namespace='/chat', transports=['websocket'])
    try:
        assert c.receive(timeout=5)[0] == 'hello'

        def cut_when_handled():
            if entered.wait(10):
                r.cut()

        t = threading.Thread(target=cut_when_handled, daemon=True)
        t.start()
        # The answer is lost with the connection: no waiting for the
        # timeout, and the event is not sent again.
        start = time.monotonic()
        with pytest.raises(DisconnectedError):
            c.call('hang', timeout=30)
        assert time.monotonic() - start < 10
        t.join(10)
        assert c.receive(timeout=10)[0] == 'hello'  # reconnected
        assert c.connected and c.call('sum', (1, 2), timeout=10) == 3
    finally:
        release.set()
        c.disconnect()


def test_gives_up_after_the_reconnection_attempts(sync_server, relay):
    sio, url = sync_server(setup_chat([]))
    r = relay(port_of(url))
    c = socketio_rs.SimpleClient(reconnection_attempts=2, reconnection_delay=0.05,
                                  reconnection_delay_max=0.05, randomization_factor=0)
    c.connect(r.url, namespace='/chat', transports=['websocket'])
    assert c.receive(timeout=5)[0] == 'hello'
    r.refuse()
    r.cut()
    with pytest.raises(DisconnectedError):
        c.receive(timeout=20)
    assert not c.connected
    with pytest.raises(DisconnectedError):
        c.emit('echo', 1)
    c.disconnect()


def test_without_reconnection_a_drop_is_final(sync_server, relay):
    sio, url = sync_server(setup_chat([]))
    r = relay(port_of(url))
    c = socketio_rs.SimpleClient(reconnection=False)
    c.connect(r.url, namespace='/chat', transports=['websocket'])
    assert c.receive(timeout=5)[0] == 'hello'
    r.cut()
    with pytest.raises(DisconnectedError):
        c.receive(timeout=10)
    with pytest.raises(DisconnectedError):
        c.call('sum', (1, 2))


def test_exports_match_python_socketio():
    import socketio
    assert socketio_rs.SimpleClient.__name__ == socketio.SimpleClient.__name__
    assert socketio_rs.AsyncSimpleClient.__name__ == socketio.AsyncSimpleClient.__name__
    c = socketio_rs.SimpleClient(1, a=2)
    assert c.client_args == (1,) and c.client_kwargs == {'a': 2}
    assert c.client is None and c.input_buffer == [] and not c.connected
    with pytest.raises(DisconnectedError):
        c.connected_event.set()
        c.emit('x')


# -- AsyncSimpleClient against our AsyncServer --------------------------------


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def async_chat_server(seen, namespace='/chat', **kwargs):
    sio = socketio_rs.AsyncServer(**kwargs)

    @sio.on('connect', namespace=namespace)
    async def connect(sid, environ, auth):
        seen.append(('connect', sid, auth, environ.get('HTTP_X_TOKEN')))
        await sio.emit('hello', sid, to=sid, namespace=namespace)

    @sio.on('disconnect', namespace=namespace)
    async def disconnect(sid, reason):
        seen.append(('disconnect', sid, reason))

    @sio.on('echo', namespace=namespace)
    async def echo(sid, *args):
        await sio.emit('echo', args, to=sid, namespace=namespace)

    @sio.on('sum', namespace=namespace)
    async def total(sid, a, b):
        return a + b

    @sio.on('bye', namespace=namespace)
    async def bye(sid):
        await sio.emit('last', 'words', to=sid, namespace=namespace)
        await sio.disconnect(sid, namespace=namespace)

    host, port = await sio.listen('127.0.0.1', 0)
    return sio, f'http://{host}:{port}'


def test_async_round_trip_and_timeouts():
    async def main():
        seen = []
        sio, url = await async_chat_server(seen)
        try:
            async with socketio_rs.AsyncSimpleClient(reconnection=False) as c:
                with pytest.raises(TimeoutError):
                    await c.receive(timeout=0.05)
                await c.connect(url, headers={'X-Token': 'h'}, auth={'token': 'a'},
                                namespace='/chat')
                assert c.connected and c.client.reconnection is False
                assert await c.receive(timeout=5) == ['hello', c.sid]
                assert events(seen, 'connect') == [('connect', c.sid, {'token': 'a'}, 'h')]
                assert c.transport == 'websocket'
                await c.emit('echo', ('x', b'\x00', {'k': [1]}))
                assert await c.receive(timeout=5) == ['echo', 'x', b'\x00', {'k': [1]}]
                assert await c.call('sum', (20, 22)) == 42
                loop = asyncio.get_running_loop()
                start = loop.time()
                with pytest.raises(TimeoutError):
                    await c.call('nobody', timeout=0.3)
                assert 0.25 <= loop.time() - start < 5
                start = loop.time()
                with pytest.raises(TimeoutError):
                    await c.receive(timeout=0.2)
                assert 0.15 <= loop.time() - start < 5
                with pytest.raises(RuntimeError):
                    await c.connect(url, namespace='/chat')
                sid = c.sid
            assert not c.connected and c.client is None
            for _ in range(500):
                if events(seen, 'disconnect'):
                    break
                await asyncio.sleep(0.01)
            assert events(seen, 'disconnect') == [('disconnect', sid, 'client disconnect')]
            with pytest.raises(DisconnectedError):
                await c.emit('echo')
            with pytest.raises(DisconnectedError):
                await c.call('sum', (1, 2))
            with pytest.raises(DisconnectedError):
                await c.receive()
        finally:
            await sio.shutdown()

    run(main())


def test_async_server_disconnect_and_waiting_receive():
    async def main():
        seen = []
        sio, url = await async_chat_server(seen)
        try:
            c = socketio_rs.AsyncSimpleClient()
            await c.connect(url, namespace='/chat', transports=['polling'])
            assert c.transport == 'polling'
            assert (await c.receive(timeout=5))[0] == 'hello'
            await c.emit('bye')
            assert await c.receive(timeout=5) == ['last', 'words']
            with pytest.raises(DisconnectedError):
                await c.receive(timeout=5)
            assert not c.connected
            with pytest.raises(DisconnectedError):
                await c.emit('echo', 1)

            # Again with the same object; a disconnect wakes a waiting receive.
            await c.connect(url, namespace='/chat')
            assert (await c.receive(timeout=5))[0] == 'hello'
            waiting = asyncio.ensure_future(c.receive())
            await c.disconnect()
            with pytest.raises(DisconnectedError):
                await asyncio.wait_for(waiting, 10)
        finally:
            await sio.shutdown()

    run(main())


def test_async_receive_returns_what_came_before_the_end():
    # An event and the end of the connection handled while receive() waits:
    # the event is returned, then DisconnectedError.
    async def main():
        c = socketio_rs.AsyncSimpleClient()
        c.connected = True
        c.connected_event.set()
        waiting = asyncio.ensure_future(c.receive(timeout=5))
        await asyncio.sleep(0)  # runs the receive up to its first wait
        assert not waiting.done()
        c.input_buffer.append(['last', 1])
        c.input_event.set()
        c._ended()
        assert await waiting == ['last', 1]
        with pytest.raises(DisconnectedError):
            await c.receive(timeout=5)

    run(main())


def test_async_reconnects_and_gives_up(relay):
    async def main():
        seen = []
        sio, url = await async_chat_server(seen)
        r = relay(port_of(url))
        try:
            c = socketio_rs.AsyncSimpleClient(reconnection_delay=0.05,
                                              reconnection_delay_max=0.1,
                                              randomization_factor=0)
            await c.connect(r.url, namespace='/chat', transports=['websocket'])
            first = c.sid
            assert await c.receive(timeout=5) == ['hello', first]
            r.refuse()
            r.cut()
            for _ in range(1000):
                if not c.connected_event.is_set():
                    break
                await asyncio.sleep(0.01)
            assert not c.connected_event.is_set() and c.connected
            pending = asyncio.ensure_future(c.call('sum', (1, 2), timeout=10))
            r.accept()
            assert (await c.receive(timeout=10))[0] == 'hello'
            assert await asyncio.wait_for(pending, 15) == 3
            assert c.sid != first
            await c.disconnect()

            g = socketio_rs.AsyncSimpleClient(reconnection_attempts=2,
                                              reconnection_delay=0.05,
                                              reconnection_delay_max=0.05,
                                              randomization_factor=0)
            await g.connect(r.url, namespace='/chat', transports=['websocket'])
            assert (await g.receive(timeout=5))[0] == 'hello'
            r.refuse()
            r.cut()
            with pytest.raises(DisconnectedError):
                await g.receive(timeout=20)
            assert not g.connected
            with pytest.raises(DisconnectedError):
                await g.call('sum', (1, 2))
        finally:
            await sio.shutdown()

    run(main())


# -- against python-socketio's server ------------------------------------------


@pytest.fixture
def py_server():
    """python-socketio's ``AsyncServer`` as an ASGI app, uvicorn on a
    thread of its own: ``sio, url = py_server(setup)``."""
    socketio = pytest.importorskip('socketio')
    uvicorn = pytest.importorskip('uvicorn')
    running = []

    def start(setup):
        sio = socketio.AsyncServer(async_mode='asgi')
        setup(sio)
        config = uvicorn.Config(socketio.ASGIApp(sio), host='127.0.0.1', port=0,
                                log_level='warning', lifespan='off')
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.append((server, thread))
        assert wait_for(lambda: server.started, timeout=20)
        port = server.servers[0].sockets[0].getsockname()[1]
        return sio, f'http://127.0.0.1:{port}'

    yield start
    for server, thread in running:
        # python-engineio answers a long-poll pending when its client closed
        # only at the ping timeout: uvicorn does not wait for it.
        server.should_exit = True
        server.force_exit = True
        thread.join(10)


def setup_reference(seen):
    def setup(sio):
        @sio.on('connect', namespace='/chat')
        async def connect(sid, environ, auth):
            seen.append(('connect', sid, auth, environ.get('HTTP_X_TOKEN')))

        @sio.on('disconnect', namespace='/chat')
        async def disconnect(sid, reason):
            seen.append(('disconnect', sid, reason))

        @sio.on('whoami', namespace='/chat')
        async def whoami(sid):
            await sio.emit('you', (sid, b'\x01\x02'), to=sid, namespace='/chat')

        @sio.on('sum', namespace='/chat')
        async def total(sid, a, b):
            return a + b

        @sio.on('bye', namespace='/chat')
        async def bye(sid):
            await sio.emit('last', to=sid, namespace='/chat')
            await sio.disconnect(sid, namespace='/chat')

    return setup


def test_against_python_socketio_server(py_server):
    seen = []
    sio, url = py_server(setup_reference(seen))
    for transports in (None, ['polling'], ['websocket']):
        with socketio_rs.SimpleClient(reconnection=False) as c:
            c.connect(url, headers={'X-Token': 'h'}, auth={'token': 'a'}, namespace='/chat',
                      transports=transports)
            assert c.connected and c.sid
            assert events(seen, 'connect')[-1] == ('connect', c.sid, {'token': 'a'}, 'h')
            c.emit('whoami')
            assert c.receive(timeout=5) == ['you', c.sid, b'\x01\x02']
            assert c.call('sum', (2, 5)) == 7
            with pytest.raises(TimeoutError):
                c.call('nobody', timeout=0.3)
            with pytest.raises(TimeoutError):
                c.receive(timeout=0.1)
    assert wait_for(lambda: len(events(seen, 'disconnect')) == 3)
    c = socketio_rs.SimpleClient()
    c.connect(url, namespace='/chat')
    c.emit('bye')
    assert c.receive(timeout=5) == ['last']
    with pytest.raises(DisconnectedError):
        c.receive(timeout=5)
    assert not c.connected


def test_async_against_python_socketio_server(py_server):
    seen = []
    sio, url = py_server(setup_reference(seen))

    async def main():
        async with socketio_rs.AsyncSimpleClient(reconnection=False) as c:
            await c.connect(url, headers={'X-Token': 'h'}, auth={'token': 'a'},
                            namespace='/chat')
            assert events(seen, 'connect')[-1] == ('connect', c.sid, {'token': 'a'}, 'h')
            await c.emit('whoami')
            assert await c.receive(timeout=5) == ['you', c.sid, b'\x01\x02']
            assert await c.call('sum', (2, 5)) == 7
            with pytest.raises(TimeoutError):
                await c.call('nobody', timeout=0.3)
        assert not c.connected
        c = socketio_rs.AsyncSimpleClient()
        await c.connect(url, namespace='/chat')
        await c.emit('bye')
        assert await c.receive(timeout=5) == ['last']
        with pytest.raises(DisconnectedError):
            await c.receive(timeout=5)

    run(main())
