"""Two of our servers in one cluster through Redis in the Node
``@socket.io/redis-adapter`` protocol (``client_manager=RedisManager(url,
flavour='classic')``), with python-socketio clients: a broadcast from one
server reaches the other's clients, rooms included. (python-socketio's own
protocol, the default, is tested in test_pysio_redis.py.) Needs ``redis-server``; skipped without it unless
SOCKETIO_RS_REQUIRE_REDIS is set."""

import os
import shutil
import socket
import subprocess
import time

import pytest

import socketio_rs

from conftest import wait_for

REDIS = '/usr/bin/redis-server'


@pytest.fixture
def redis_url():
    binary = REDIS if os.path.exists(REDIS) else shutil.which('redis-server')
    if binary is None:
        if os.environ.get('SOCKETIO_RS_REQUIRE_REDIS'):
            pytest.fail('SOCKETIO_RS_REQUIRE_REDIS is set but redis-server is missing')
        pytest.skip('redis-server is not installed')
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [binary, '--port', str(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail('redis-server did not start')
            time.sleep(0.02)
    yield f'redis://127.0.0.1:{port}'
    proc.kill()
    proc.wait(timeout=10)


def test_broadcasts_cross_servers(redis_url, sio_client):
    servers = []
    try:
        for _ in range(2):
            sio = socketio_rs.Server(client_manager=socketio_rs.RedisManager(
                redis_url, flavour='classic'))

            @sio.event
            def join(sid, room, sio=sio):
                sio.enter_room(sid, room)
                return 'joined'

            host, port = sio.listen('127.0.0.1', 0)
            servers.append((sio, f'http://{host}:{port}'))

        heard = []
        a = sio_client()
        a.on('news', lambda data: heard.append(('a', data)))
        a.connect(servers[0][1], transports=['websocket'])
        b = sio_client()
        b.on('news', lambda data: heard.append(('b', data)))
        b.connect(servers[1][1], transports=['websocket'])
        assert b.call('join', 'den', timeout=5) == 'joined'

        # To everyone, from the first server: both clients hear it.
        servers[0][0].emit('news', 'all')
        assert wait_for(lambda: ('a', 'all') in heard and ('b', 'all') in heard)
        # To a room that has members on the second server only.
        servers[0][0].emit('news', 'den only', room='den')
        assert wait_for(lambda: ('b', 'den only') in heard)
        time.sleep(0.2)
        assert ('a', 'den only') not in heard
    finally:
        for sio, _ in servers:
            sio.shutdown()


def test_unreachable_redis_is_an_error():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    sio = socketio_rs.Server(client_manager=socketio_rs.RedisManager(
        f'redis://127.0.0.1:{port}', flavour='classic'))
    with pytest.raises(Exception) as err:
        sio.listen('127.0.0.1', 0)
    assert 'Redis' in str(err.value)
    with pytest.raises(ValueError):
        socketio_rs.RedisManager(flavour='gossip')


def test_a_list_of_urls_is_a_clusters_seeds():
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            ports.append(s.getsockname()[1])
    seeds = [f'redis://127.0.0.1:{p}' for p in ports]
    mgr = socketio_rs.RedisManager(seeds, flavour='sharded')
    assert mgr.url == ','.join(seeds)
    sio = socketio_rs.Server(client_manager=mgr)
    # Nobody answers: the cluster's seeds were tried, and that is an error.
    with pytest.raises(Exception) as err:
        sio.listen('127.0.0.1', 0)
    assert 'Redis' in str(err.value) and seeds[0] in str(err.value)
