"""``socketio_rs.Client`` and ``AsyncClient`` against the npm socket.io
server (tests/node/server-sio.mjs) and against our own server."""

import asyncio
import os
import signal
import subprocess
import sys

import pytest

import socketio_rs
from conftest import wait_for


def test_client_against_node(node_server):
    peer = node_server()
    c = socketio_rs.Client(reconnection=False)
    got = {'auth': [], 'echo': [], 'answer': [], 'binary': [], 'any': [], 'connect': []}
    c.on('connect', lambda: got['connect'].append(c.sid))
    c.on('auth', got['auth'].append)
    c.on('echo', lambda *a: got['echo'].append(a))
    c.on('answer', got['answer'].append)
    c.on('binary', lambda *a: got['binary'].append(a))

    # The catch-all answers the peer's "question" (asked with an ack): its
    # return value acknowledges, as in python-socketio.
    @c.on('*')
    def any_event(event, *args):
        got['any'].append(event)
        if event == 'question':
            return args + ('reply',)

    c.connect(peer.url, auth={'user': 'py'}, headers={'X-From': 'python'})
    assert c.connected and c.sid
    assert wait_for(lambda: got['auth'] == [{'user': 'py'}])
    assert got['connect'] == [c.sid]
    assert c.call('ack', (1, 'two', b'\x03\x04', {'n': None})) == (1, 'two', b'\x03\x04', {'n': None})
    c.emit('echo', ('a', 2))
    c.emit('ask', 'q')
    c.emit('binary')
    callback = []
    c.emit('ack', 'cb', callback=lambda *a: callback.append(a))
    assert wait_for(lambda: got['echo'] and got['answer'] and got['binary'] and callback)
    assert got['echo'] == [('a', 2)]
    assert got['answer'] == [['q', 'reply']]
    assert got['binary'] == [(b'\x01\x02\x03', {'nested': b'\x04\x05'})]
    assert callback == [('cb',)]
    assert 'info' not in got['any']
    with pytest.raises(socketio_rs.exceptions.TimeoutError):
        c.call('noack', timeout=0.3)
    info = c.call('info')
    assert info['id'] == c.sid and info['auth'] == {'user': 'py'}
    c.send('hello')  # a `message` event, no handler on the peer: must not fail
    c.disconnect()
    assert wait_for(lambda: peer.events('disconnect'))
    assert peer.events('disconnect')[0]['reason'] == 'client namespace disconnect'


def test_client_namespaces_refusal_and_server_disconnect(node_server):
    peer = node_server()
    bad = socketio_rs.Client(reconnection=False)
    errors = []
    bad.on('connect_error', errors.append, namespace='/refuse')
    with pytest.raises(socketio_rs.exceptions.ConnectionError):
        bad.connect(peer.url, namespaces=['/refuse'])
    assert errors == [{'message': 'refused', 'data': {'code': 42}}]
    assert not bad.connected

    class Admin(socketio_rs.ClientNamespace):
        def __init__(self, ns):
            super().__init__(ns)
            self.auth = []

        def on_auth(self, data):
            self.auth.append(data)

    c = socketio_rs.Client()
    admin = Admin('/admin')
    c.register_namespace(admin)
    reasons = []
    c.on('disconnect', reasons.append)
    c.connect(peer.url, namespaces=['/', '/admin'], auth={'a': 1})
    assert set(c.namespaces) == {'/', '/admin'}
    assert wait_for(lambda: admin.auth == [{'a': 1}])
    assert admin.call('ack', 'x') == 'x'
    c.emit('disconnect-me')
    assert wait_for(lambda: reasons == ['server disconnect'])
    with pytest.raises(socketio_rs.exceptions.BadNamespaceError):
        c.emit('echo', 1)
    c.disconnect()
    c.wait()  # returns at once: the connection ended


def test_async_client_against_node(node_server):
    peer = node_server()

    async def main():
        c = socketio_rs.AsyncClient(reconnection=False)
        loop = asyncio.get_running_loop()
        echoes, on_loop = [], []

        @c.event
        async def echo(*args):
            on_loop.append(asyncio.get_running_loop() is loop)
            echoes.append(args)

        @c.on('question')
        async def question(*args):
            await asyncio.sleep(0)
            return 'async-reply'

        answers = []
        c.on('answer', answers.append)
        await c.connect(peer.url, transports=['websocket'])
        assert await c.call('ack', ('x', b'\x00')) == ('x', b'\x00')
        await c.emit('echo', {'k': [1, 2]})
        await c.emit('ask', 1)
        got = []

        async def cb(*a):
            got.append(a)

        await c.emit('ack', 7, callback=cb)
        for _ in range(500):
            if echoes and answers and got:
                break
            await asyncio.sleep(0.01)
        assert echoes == [({'k': [1, 2]},)] and on_loop == [True]
        assert answers == [['async-reply']]
        assert got == [(7,)]
        info = await c.call('info')
        assert info['transport'] == 'websocket'
        with pytest.raises(socketio_rs.exceptions.TimeoutError):
            await c.call('noack', timeout=0.2)
        waiter = asyncio.ensure_future(c.wait())
        await c.emit('disconnect-me')
        await asyncio.wait_for(waiter, 5)
        assert not c.connected

    asyncio.run(asyncio.wait_for(main(), 30))


def test_reconnection_against_node(node_server):
    peer = node_server()
    c = socketio_rs.Client(reconnection=True, reconnection_delay=0.1,
                           reconnection_delay_max=0.2, randomization_factor=0)
    connects, reasons = [], []
    c.on('connect', lambda: connects.append(1))
    c.on('disconnect', reasons.append)
    c.connect(peer.url)
    c.emit('restart', 300)
    assert wait_for(lambda: len(connects) == 2, timeout=10)
    assert reasons and reasons[0] in ('transport close', 'transport error')
    assert c.call('ack', 'back') == 'back'
    c.disconnect()


def test_our_client_with_our_server(sync_server):
    def setup(sio):
        @sio.event
        def connect(sid, environ, auth):
            if auth != {'pw': 'ok'}:
                raise socketio_rs.exceptions.ConnectionRefusedError('wrong password')

        @sio.event
        def add(sid, a, b):
            return a + b

    sio, url = sync_server(setup)
    c = socketio_rs.Client()
    c.connect(url, auth={'pw': 'ok'}, headers={'X-Token': 'abc'})
    assert c.call('add', (2, 3)) == 5
    assert sio.get_environ(c.sid)['HTTP_X_TOKEN'] == 'abc'
    c.disconnect()
    bad = socketio_rs.Client(reconnection=False)
    with pytest.raises(socketio_rs.exceptions.ConnectionError) as e:
        bad.connect(url, auth={'pw': 'no'})
    assert 'wrong password' in str(e.value)


def test_connect_to_nothing_fails():
    c = socketio_rs.Client(reconnection=False)
    with pytest.raises(socketio_rs.exceptions.ConnectionError):
        c.connect('http://127.0.0.1:9', wait_timeout=1)


def test_msgpack_serializer(node_server, sync_server):
    peer = node_server({'msgpack': True})
    c = socketio_rs.Client(serializer='msgpack', reconnection=False)
    c.connect(peer.url)
    assert c.call('ack', (1, 'x', b'\x01\x02', {'k': [None, 2.5]})) == \
        (1, 'x', b'\x01\x02', {'k': [None, 2.5]})
    c.disconnect()

    def setup(sio):
        @sio.event
        def echo(sid, data):
            return data

    _, url = sync_server(setup, serializer='msgpack')
    ours = socketio_rs.Client(serializer='msgpack')
    ours.connect(url)
    assert ours.call('echo', {'bin': b'\xff', 'n': 7}) == {'bin': b'\xff', 'n': 7}
    ours.disconnect()


CTRL_C_CHILD = r"""
import asyncio
import sys

import socketio_rs as socketio

url, kind, handle = sys.argv[1], sys.argv[2], sys.argv[3] == '1'
sio = (socketio.Client if kind == 'sync' else socketio.AsyncClient)(handle_sigint=handle)


@sio.event
def disconnect(reason):
    print('disconnect handler:', reason, flush=True)


if kind == 'sync':
    sio.connect(url)
    print('ready', flush=True)
    sio.wait()
else:
    async def main():
        await sio.connect(url)
        print('ready', flush=True)
        await sio.wait()

    asyncio.run(main())
"""


@pytest.mark.skipif(os.name != 'posix', reason='sends SIGINT to a child process')
@pytest.mark.parametrize('handle', [True, False])
@pytest.mark.parametrize('kind', ['sync', 'async'])
def test_ctrl_c_disconnects(sync_server, kind, handle):
    """As python-engineio's clients (handle_sigint=True, the default):
    Ctrl-C disconnects, the `disconnect` handler runs with 'client
    disconnect' and the program ends; handle_sigint=False leaves SIGINT
    alone."""
    reasons = []

    def setup(sio):
        sio.on('disconnect', lambda sid, reason: reasons.append(reason))

    _, url = sync_server(setup)
    proc = subprocess.Popen([sys.executable, '-c', CTRL_C_CHILD, url, kind, str(int(handle))],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout.readline().strip() == 'ready'
        proc.send_signal(signal.SIGINT)
        out = proc.communicate(timeout=20)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    if handle:
        assert 'disconnect handler: client disconnect' in out, out
        assert wait_for(lambda: reasons == ['client disconnect']), reasons
    else:
        assert 'disconnect handler' not in out, out
    if kind == 'sync' or not handle:
        assert 'KeyboardInterrupt' in out, out
    else:
        # the loop's tasks cancelled: wait() returned or was cancelled
        assert 'Event loop stopped before Future completed' not in out, out
