"""The write-only managers of the Node protocol
(``RedisManager(url, write_only=True, flavour='classic')`` and
``AsyncRedisManager``): a process that is not a server reaches the
python-socketio clients of our servers on the Node ``@socket.io/redis-adapter``
protocol, as ``@socket.io/redis-emitter`` would. Needs ``redis-server``;
skipped without it unless SOCKETIO_RS_REQUIRE_REDIS is set."""

import asyncio
import socket
import time

import pytest

import socketio_rs

from conftest import wait_for
from test_redis import redis_url  # noqa: F401 - the fixture


@pytest.fixture
def two_servers(redis_url):  # noqa: F811
    """Two of our servers in one classic cluster, whose "join" event puts
    the sender in a room, and the URLs to reach them."""
    servers = []
    for _ in range(2):
        sio = socketio_rs.Server(client_manager=socketio_rs.RedisManager(
            redis_url, flavour='classic'))

        @sio.event
        def join(sid, room, sio=sio):
            sio.enter_room(sid, room)
            return 'joined'

        @sio.on('connect', namespace='/admin')
        def admin_connect(sid, environ, sio=sio):
            pass

        host, port = sio.listen('127.0.0.1', 0)
        servers.append((sio, f'http://{host}:{port}'))
    yield servers
    for sio, _ in servers:
        sio.shutdown()


def connect(sio_client, url, heard, name, namespaces=None):
    c = sio_client()
    c.on('*', lambda event, *args: heard.append((name, event, args)))
    for ns in namespaces or []:
        if ns != '/':
            c.on('*', lambda event, *args, ns=ns: heard.append((name + ns, event, args)),
                 namespace=ns)
    c.connect(url, transports=['websocket'], namespaces=namespaces)
    return c


def events_of(heard, name):
    return sorted(e for n, e, _ in heard if n == name)


def test_write_only_manager_reaches_the_clients(two_servers, redis_url,  # noqa: F811
                                               sio_client):
    heard = []
    a = connect(sio_client, two_servers[0][1], heard, 'a', ['/', '/admin'])
    b = connect(sio_client, two_servers[1][1], heard, 'b')
    assert a.call('join', 'den', timeout=5) == 'joined'
    mgr = socketio_rs.RedisManager(redis_url, write_only=True, flavour='classic')

    mgr.emit('all', {'n': 1})
    mgr.emit('den', ('two', b'\x01\x02'), room='den')
    mgr.emit('not-den', None, skip_sid=[a.get_sid()])
    mgr.emit('to-b', 3, to=b.get_sid())
    mgr.emit('admin', 4, namespace='/admin')
    mgr.emit('end', 0)
    assert wait_for(lambda: ('a', 'end', (0,)) in heard and ('b', 'end', (0,)) in heard)
    assert events_of(heard, 'a') == ['all', 'den', 'end']
    assert events_of(heard, 'b') == ['all', 'end', 'not-den', 'to-b']
    assert ('a', 'all', ({'n': 1},)) in heard
    assert ('a', 'den', ('two', b'\x01\x02')) in heard
    assert ('b', 'not-den', ()) in heard
    assert wait_for(lambda: ('a/admin', 'admin', (4,)) in heard)

    # Rooms of another server's client: entered, left, closed.
    mgr.enter_room(b.get_sid(), '/', 'den')
    time.sleep(0.2)
    mgr.emit('den2', 5, room='den')
    assert wait_for(lambda: ('a', 'den2', (5,)) in heard and ('b', 'den2', (5,)) in heard)
    mgr.leave_room(b.get_sid(), '/', 'den')
    time.sleep(0.2)
    mgr.emit('den3', 6, room='den')
    mgr.emit('end2', 0)
    assert wait_for(lambda: ('b', 'end2', (0,)) in heard and ('a', 'end2', (0,)) in heard)
    assert ('a', 'den3', (6,)) in heard and ('b', 'den3', (6,)) not in heard
    mgr.close_room('den')
    time.sleep(0.2)
    mgr.emit('den4', 7, room='den')
    mgr.emit('end3', 0)
    assert wait_for(lambda: ('a', 'end3', (0,)) in heard)
    assert ('a', 'den4', (7,)) not in heard

    # Callbacks need a server; unknown arguments are refused.
    with pytest.raises(RuntimeError, match='Callbacks'):
        mgr.emit('x', 1, callback=lambda *a: None)
    with pytest.raises(TypeError):
        mgr.emit('x', 1, bogus=True)
    with pytest.raises(ValueError, match='reserved'):
        mgr.emit('connect', 1)

    # Disconnect a client of another server.
    mgr.disconnect(b.get_sid(), namespace='/')
    assert wait_for(lambda: not b.connected)
    assert a.connected


def test_async_write_only_manager(two_servers, redis_url, sio_client):  # noqa: F811
    heard = []
    a = connect(sio_client, two_servers[0][1], heard, 'a')
    b = connect(sio_client, two_servers[1][1], heard, 'b')

    async def main():
        mgr = socketio_rs.AsyncRedisManager(redis_url, write_only=True, flavour='classic')
        await mgr.emit('hello', 'async')
        await mgr.enter_room(a.get_sid(), '/', 'r')
        await asyncio.sleep(0.2)
        await mgr.emit('r', 1, room='r')
        await mgr.leave_room(a.get_sid(), '/', 'r')
        await mgr.close_room('r')
        await mgr.disconnect(b.get_sid())

    asyncio.run(main())
    assert wait_for(lambda: ('a', 'hello', ('async',)) in heard
                    and ('b', 'hello', ('async',)) in heard)
    assert wait_for(lambda: ('a', 'r', (1,)) in heard)
    assert wait_for(lambda: not b.connected)
    assert ('b', 'r', (1,)) not in heard


def test_write_only_manager_needs_redis():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(ConnectionError, match='Redis'):
        socketio_rs.RedisManager(f'redis://127.0.0.1:{port}', write_only=True,
                                 flavour='classic')
    assert time.monotonic() - started < 5
    with pytest.raises(ValueError, match="flavour='classic'"):
        socketio_rs.RedisManager(f'redis://127.0.0.1:{port}', write_only=True,
                                 flavour='streams')
