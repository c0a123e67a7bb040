"""python-socketio's own Redis pub/sub protocol: our ``Server`` /
``AsyncServer`` with ``client_manager=RedisManager(url)`` and a real
python-socketio server (a subprocess: this file run as a script) with
python-socketio's ``RedisManager`` / ``AsyncRedisManager``, both on one
private redis-server, each with a python-socketio client. Every manager
operation is checked both ways: emits to everyone, a room, a sid, with
``skip_sid``; rooms entered, left and closed for a client of the other
server; disconnections; acknowledgements (``callback`` and ``call``);
binary payloads. Then the write-only emitters (ours reaching both servers'
clients, python-socketio's reaching ours), the messages' format against
python-socketio's own, the options, an unreachable Redis, a Sentinel URL,
and the listener thread's end. Needs ``redis-server``; skipped without it
unless SOCKETIO_RS_REQUIRE_REDIS is set.

A message that must not arrive is checked with a marker sent after it on
the same path: the marker's arrival means the other would have come
first."""

import asyncio
import base64
import itertools
import json
import logging
import os
import queue
import shutil
import socket
import subprocess
import sys
import threading

import pytest

import socketio_rs

from conftest import wait_for
from test_redis import redis_url  # noqa: F401 - the private redis-server fixture

#: Bound of every wait for something that must happen.
WAIT = 15.0

# -- the control channel of the peer: JSON lines, bytes and tuples tagged ----


def enc(v):
    if isinstance(v, (bytes, bytearray)):
        return {'$b': base64.b64encode(bytes(v)).decode()}
    if isinstance(v, tuple):
        return {'$t': [enc(x) for x in v]}
    if isinstance(v, list):
        return [enc(x) for x in v]
    if isinstance(v, dict):
        return {k: enc(x) for k, x in v.items()}
    return v


def dec(v):
    if isinstance(v, dict):
        if set(v) == {'$b'}:
            return base64.b64decode(v['$b'])
        if set(v) == {'$t'}:
            return tuple(dec(x) for x in v['$t'])
        return {k: dec(x) for k, x in v.items()}
    if isinstance(v, list):
        return [dec(x) for x in v]
    return v


# -- the python-socketio server (run as `python test_pysio_redis.py peer ...`) --

def _peer_main(kind, url):
    import socketio
    lock = threading.Lock()

    def out(obj):
        with lock:
            sys.stdout.write(json.dumps(obj) + '\n')
            sys.stdout.flush()

    def handlers(sio, awaited):
        # On namespace '*': python-socketio passes the namespace first.
        async def join(ns, sid, room):
            await awaited(sio.enter_room(sid, room, namespace=ns))
            return 'joined'

        async def leave(ns, sid, room):
            await awaited(sio.leave_room(sid, room, namespace=ns))
            return 'left'

        async def disconnect(sid, reason):
            out({'event': 'disconnect', 'sid': sid, 'reason': reason})

        return join, leave, disconnect

    if kind == 'async':
        from aiohttp import web

        async def main():
            sio = socketio.AsyncServer(client_manager=socketio.AsyncRedisManager(url),
                                       async_mode='aiohttp', namespaces='*')

            async def awaited(r):
                return await r

            join, leave, disconnect = handlers(sio, awaited)
            sio.on('join', join, namespace='*')
            sio.on('leave', leave, namespace='*')
            sio.on('disconnect', disconnect)
            app = web.Application()
            sio.attach(app)
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, '127.0.0.1', 0)
            await site.start()
            out({'port': site._server.sockets[0].getsockname()[1]})
            loop = asyncio.get_running_loop()
            tasks = set()

            async def run(cmd):
                try:
                    args, kwargs = dec(cmd.get('args', [])), dec(cmd.get('kwargs', {}))
                    if cmd['op'] == 'emit_cb':
                        def cb(*a):
                            out({'callback': cmd['id'], 'args': enc(list(a))})
                        r = await sio.emit(*args, callback=cb, **kwargs)
                    else:
                        r = await getattr(sio, cmd['op'])(*args, **kwargs)
                    out({'reply': cmd['id'], 'result': enc(r)})
                except Exception as exc:  # noqa: BLE001 - reported to the test
                    out({'reply': cmd['id'], 'error': repr(exc)})

            while True:
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line:
                    break
                t = asyncio.ensure_future(run(json.loads(line)))
                tasks.add(t)
                t.add_done_callback(tasks.discard)
            await runner.cleanup()

        asyncio.run(main())
    else:
        from werkzeug.serving import make_server
        sio = socketio.Server(client_manager=socketio.RedisManager(url),
                              async_mode='threading', namespaces='*')

        def sync(coro_fn):
            def run(*a):
                c = coro_fn(*a)
                try:
                    c.send(None)
                except StopIteration as stop:
                    return stop.value
            return run

        async def plain(r):
            return r

        join, leave, disconnect = handlers(sio, plain)
        sio.on('join', sync(join), namespace='*')
        sio.on('leave', sync(leave), namespace='*')
        sio.on('disconnect', sync(disconnect))
        srv = make_server('127.0.0.1', 0, socketio.WSGIApp(sio), threaded=True)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        out({'port': srv.server_port})

        def run(cmd):
            try:
                args, kwargs = dec(cmd.get('args', [])), dec(cmd.get('kwargs', {}))
                if cmd['op'] == 'emit_cb':
                    def cb(*a):
                        out({'callback': cmd['id'], 'args': enc(list(a))})
                    r = sio.emit(*args, callback=cb, **kwargs)
                else:
                    r = getattr(sio, cmd['op'])(*args, **kwargs)
                out({'reply': cmd['id'], 'result': enc(r)})
            except Exception as exc:  # noqa: BLE001 - reported to the test
                out({'reply': cmd['id'], 'error': repr(exc)})

        for line in sys.stdin:
            threading.Thread(target=run, args=(json.loads(line),), daemon=True).start()
        srv.shutdown()


class PySioPeer:
    """A python-socketio server in a subprocess, driven through its stdin:
    ``do(op, *args, **kwargs)`` runs ``sio.op(...)`` there and returns its
    result; ``emit_cb`` emits with a callback whose answer ``answer(id)``
    waits for."""

    def __init__(self, kind, url):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), 'peer', kind, url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._lines = queue.Queue()
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self.replies = {}
        self.callbacks = {}
        self.events = []
        threading.Thread(target=self._read, daemon=True).start()
        try:
            first = self._lines.get(timeout=WAIT * 2)
        except queue.Empty:
            self.close()
            pytest.fail('the python-socketio server did not start')
        self.url = f'http://127.0.0.1:{first["port"]}'

    def _read(self):
        first = True
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if first:
                first = False
                self._lines.put(msg)
                continue
            with self._cond:
                if 'reply' in msg:
                    self.replies[msg['reply']] = msg
                elif 'callback' in msg:
                    self.callbacks[msg['callback']] = dec(msg['args'])
                else:
                    self.events.append(msg)
                self._cond.notify_all()

    def _send(self, op, args, kwargs):
        n = next(self._ids)
        self.proc.stdin.write(json.dumps({'id': n, 'op': op, 'args': enc(list(args)),
                                          'kwargs': enc(kwargs)}) + '\n')
        self.proc.stdin.flush()
        return n

    def _wait(self, table, n):
        with self._cond:
            if not self._cond.wait_for(lambda: n in table, WAIT):
                raise AssertionError(f'no answer from the python-socketio server for {n}')
            return table.pop(n)

    def do(self, op, *args, **kwargs):
        msg = self._wait(self.replies, self._send(op, args, kwargs))
        if 'error' in msg:
            raise AssertionError(f'python-socketio {op}: {msg["error"]}')
        return dec(msg['result'])

    def emit_cb(self, *args, **kwargs):
        n = self._send('emit_cb', args, kwargs)
        msg = self._wait(self.replies, n)
        if 'error' in msg:
            raise AssertionError(f'python-socketio emit: {msg["error"]}')
        return n

    def answer(self, n):
        return self._wait(self.callbacks, n)

    def wait_event(self, pred):
        with self._cond:
            return self._cond.wait_for(lambda: any(pred(e) for e in self.events), WAIT)

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


# -- our server: Server, or AsyncServer on a loop of its own -----------------------

class Ours:
    """Our server with a python-socketio manager; ``do(op, ...)`` calls a
    server method (awaited on the server's loop for ``AsyncServer``)."""

    def __init__(self, kind, url, manager=None, **kwargs):
        kwargs.setdefault('namespaces', ['/', '/chat'])
        self.kind = kind
        self.disconnects = []
        self.loop = None
        if kind == 'sync':
            self.manager = manager or socketio_rs.RedisManager(url)
            self.sio = sio = socketio_rs.Server(client_manager=self.manager, **kwargs)

            @sio.on('join', namespace='*')
            def join(ns, sid, room):
                sio.enter_room(sid, room, namespace=ns)
                return 'joined'

            @sio.on('leave', namespace='*')
            def leave(ns, sid, room):
                sio.leave_room(sid, room, namespace=ns)
                return 'left'

            @sio.on('disconnect', namespace='*')
            def disconnect(ns, sid, reason):
                self.disconnects.append((ns, sid, reason))

            host, port = sio.listen('127.0.0.1', 0)
        else:
            self.loop = asyncio.new_event_loop()
            self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
            self.thread.start()
            self.manager = manager or socketio_rs.AsyncRedisManager(url)
            self.sio = sio = socketio_rs.AsyncServer(client_manager=self.manager, **kwargs)

            @sio.on('join', namespace='*')
            async def join(ns, sid, room):
                await sio.enter_room(sid, room, namespace=ns)
                return 'joined'

            @sio.on('leave', namespace='*')
            async def leave(ns, sid, room):
                await sio.leave_room(sid, room, namespace=ns)
                return 'left'

            @sio.on('disconnect', namespace='*')
            async def disconnect(ns, sid, reason):
                self.disconnects.append((ns, sid, reason))

            host, port = self.run(sio.listen('127.0.0.1', 0))
        self.url = f'http://{host}:{port}'

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(WAIT)

    def do(self, op, *args, **kwargs):
        r = getattr(self.sio, op)(*args, **kwargs)
        return self.run(r) if self.kind == 'async' else r

    def close(self):
        if self.kind == 'sync':
            self.sio.shutdown()
            return
        try:
            self.run(self.sio.shutdown())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(WAIT)
            self.loop.close()


class Client:
    """A python-socketio client on ``/`` and ``/chat``, recording what it
    hears; its ``ask`` handler acknowledges with ``'<name> says <data>'``."""

    def __init__(self, make, url, name):
        self.name = name
        self.heard = []
        self.gone = threading.Event()
        self.c = c = make(reconnection=False)
        for ns in ('/', '/chat'):
            c.on('*', self._heard(ns), namespace=ns)
            c.on('ask', lambda data: f'{name} says {data}', namespace=ns)
        c.on('disconnect', lambda *a: self.gone.set())
        c.connect(url, namespaces=['/', '/chat'], transports=['websocket'], wait_timeout=WAIT)
        self.sid = c.get_sid('/')
        self.chat_sid = c.get_sid('/chat')

    def _heard(self, ns):
        def on(event, *args):
            self.heard.append((ns, event, args))
        return on

    def got(self, event, *args, ns='/'):
        return (ns, event, args) in self.heard

    def wait(self, event, *args, ns='/'):
        assert wait_for(lambda: self.got(event, *args, ns=ns), WAIT), \
            f'{self.name} did not hear {event} {args} on {ns}: {self.heard}'

    def call(self, event, *args, ns='/'):
        return self.c.call(event, args[0] if len(args) == 1 else args, namespace=ns,
                           timeout=WAIT)


_markers = itertools.count(1)


def marker():
    return f'marker-{next(_markers)}'


def numsub(url, channel='socketio'):
    import redis
    r = redis.Redis.from_url(url)
    try:
        return dict(r.pubsub_numsub(channel)).get(channel.encode(), 0)
    finally:
        r.close()


class Cluster:
    def __init__(self, ours, peer, a, b, url):
        self.ours, self.peer, self.a, self.b, self.url = ours, peer, a, b, url


@pytest.fixture
def make_cluster(redis_url, sio_client):  # noqa: F811 - the imported fixture
    """``make_cluster(ours_kind, peer_kind)``: our server with client ``a``,
    a python-socketio server with client ``b``, both subscribed."""
    made = []

    def make(ours_kind, peer_kind='async'):
        ours = Ours(ours_kind, redis_url)
        made.append(ours)
        peer = PySioPeer(peer_kind, redis_url)
        made.append(peer)
        a = Client(sio_client, ours.url, 'a')
        made.append(a)
        # python-socketio subscribes when its first client connects.
        b = Client(sio_client, peer.url, 'b')
        made.append(b)
        assert wait_for(lambda: numsub(redis_url) == 2, WAIT), 'the servers did not subscribe'
        return Cluster(ours, peer, a, b, redis_url)

    yield make
    for x in reversed(made):
        try:
            x.c.disconnect() if isinstance(x, Client) else x.close()
        except Exception:  # noqa: BLE001 - best effort teardown
            pass


@pytest.fixture(params=['sync', 'async'])
def cluster(request, make_cluster):
    return make_cluster(request.param)


# -- both ways: emits --------------------------------------------------------------

def test_emits_cross_to_python_socketio_and_back(cluster):
    ours, peer, a, b = cluster.ours, cluster.peer, cluster.a, cluster.b
    # To everyone, from each side.
    ours.do('emit', 'news', 'from ours')
    a.wait('news', 'from ours')
    b.wait('news', 'from ours')
    peer.do('emit', 'news', 'from python-socketio')
    a.wait('news', 'from python-socketio')
    b.wait('news', 'from python-socketio')
    # Several arguments, and none.
    ours.do('emit', 'news', (1, 'two', {'three': [3]}))
    b.wait('news', 1, 'two', {'three': [3]})
    peer.do('emit', 'news', (4, 'five'))
    a.wait('news', 4, 'five')
    ours.do('emit', 'bare')
    b.wait('bare')
    peer.do('emit', 'bare')
    a.wait('bare')
    # To one sid on the other server.
    ours.do('emit', 'news', 'for b', to=b.sid)
    b.wait('news', 'for b')
    peer.do('emit', 'news', 'for a', room=a.sid)
    a.wait('news', 'for a')
    # Another namespace.
    ours.do('emit', 'news', 'chat from ours', namespace='/chat')
    b.wait('news', 'chat from ours', ns='/chat')
    a.wait('news', 'chat from ours', ns='/chat')
    peer.do('emit', 'news', 'chat from python-socketio', namespace='/chat')
    a.wait('news', 'chat from python-socketio', ns='/chat')
    assert not a.got('news', 'for b') and not b.got('news', 'for a')
    assert not a.got('news', 'chat from ours') and not b.got('news', 'from ours', ns='/chat')


def test_rooms_and_skip_sid_both_ways(cluster):
    ours, peer, a, b = cluster.ours, cluster.peer, cluster.a, cluster.b
    assert a.call('join', 'den') == 'joined'
    assert b.call('join', 'den') == 'joined'
    assert b.call('join', 'attic') == 'joined'
    assert a.call('join', 'cellar') == 'joined'
    # A room with members on both servers, from each side.
    ours.do('emit', 'news', 'den from ours', room='den')
    a.wait('news', 'den from ours')
    b.wait('news', 'den from ours')
    peer.do('emit', 'news', 'den from python-socketio', room='den')
    a.wait('news', 'den from python-socketio')
    b.wait('news', 'den from python-socketio')
    # A room with members on the other server only.
    ours.do('emit', 'news', 'attic', room='attic')
    peer.do('emit', 'news', 'cellar', room='cellar')
    b.wait('news', 'attic')
    a.wait('news', 'cellar')
    # Several rooms at once.
    ours.do('emit', 'news', 'attic or nowhere', to=['attic', 'nowhere'])
    b.wait('news', 'attic or nowhere')
    # skip_sid of a client of the other server, and of one of its own.
    ours.do('emit', 'news', 'not b', skip_sid=b.sid)
    peer.do('emit', 'news', 'not a', skip_sid=a.sid)
    ours.do('emit', 'news', 'not a either', room='den', skip_sid=[a.sid])
    peer.do('emit', 'news', 'not b either', room='den', skip_sid=b.sid)
    a.wait('news', 'not b')
    b.wait('news', 'not a')
    b.wait('news', 'not a either')
    a.wait('news', 'not b either')
    # The markers follow each path: what was skipped would have come first.
    m1, m2 = marker(), marker()
    ours.do('emit', 'news', m1)
    peer.do('emit', 'news', m2)
    for c in (a, b):
        c.wait('news', m1)
        c.wait('news', m2)
    assert not a.got('news', 'attic') and not b.got('news', 'cellar')
    assert not a.got('news', 'attic or nowhere')
    assert not b.got('news', 'not b') and not a.got('news', 'not a')
    assert not a.got('news', 'not a either') and not b.got('news', 'not b either')


# -- rooms of a client of the other server -------------------------------------------

def test_room_membership_of_a_remote_sid(cluster):
    ours, peer, a, b = cluster.ours, cluster.peer, cluster.a, cluster.b
    # Ours puts b (python-socketio's client) in a room, then takes it out.
    ours.do('enter_room', b.sid, 'r1')
    ours.do('emit', 'news', 'r1', room='r1')
    b.wait('news', 'r1')
    ours.do('leave_room', b.sid, 'r1')
    ours.do('emit', 'news', 'r1 again', room='r1')
    m = marker()
    ours.do('emit', 'news', m, to=b.sid)
    b.wait('news', m)
    assert not b.got('news', 'r1 again')
    # python-socketio puts a (our client) in a room, then takes it out.
    peer.do('enter_room', a.sid, 'r2')
    peer.do('emit', 'news', 'r2', room='r2')
    a.wait('news', 'r2')
    assert 'r2' in ours.sio.rooms(a.sid)
    peer.do('leave_room', a.sid, 'r2')
    peer.do('emit', 'news', 'r2 again', room='r2')
    m = marker()
    peer.do('emit', 'news', m, to=a.sid)
    a.wait('news', m)
    assert not a.got('news', 'r2 again')
    assert 'r2' not in ours.sio.rooms(a.sid)
    # In another namespace.
    ours.do('enter_room', b.chat_sid, 'r5', namespace='/chat')
    ours.do('emit', 'news', 'r5', room='r5', namespace='/chat')
    b.wait('news', 'r5', ns='/chat')


def test_close_room_reaches_the_other_server(cluster):
    ours, peer, a, b = cluster.ours, cluster.peer, cluster.a, cluster.b
    # Closed by ours: members on both servers leave.
    ours.do('enter_room', a.sid, 'r3')
    ours.do('enter_room', b.sid, 'r3')
    ours.do('emit', 'news', 'r3', room='r3')
    a.wait('news', 'r3')
    b.wait('news', 'r3')
    ours.do('close_room', 'r3')
    ours.do('emit', 'news', 'r3 closed', room='r3')
    m = marker()
    ours.do('emit', 'news', m)
    a.wait('news', m)
    b.wait('news', m)
    assert not a.got('news', 'r3 closed') and not b.got('news', 'r3 closed')
    # Closed by python-socketio: our client leaves too.
    peer.do('enter_room', a.sid, 'r4')
    assert b.call('join', 'r4') == 'joined'
    peer.do('emit', 'news', 'r4', room='r4')
    a.wait('news', 'r4')
    b.wait('news', 'r4')
    peer.do('close_room', 'r4')
    peer.do('emit', 'news', 'r4 closed', room='r4')
    m = marker()
    peer.do('emit', 'news', m)
    a.wait('news', m)
    b.wait('news', m)
    assert not a.got('news', 'r4 closed') and not b.got('news', 'r4 closed')
    assert 'r4' not in ours.sio.rooms(a.sid)


def test_disconnect_of_a_remote_sid(cluster):
    ours, peer, a, b = cluster.ours, cluster.peer, cluster.a, cluster.b
    a_sid, b_sid = a.sid, b.sid
    ours.do('disconnect', b_sid)
    peer.do('disconnect', a_sid)
    assert b.gone.wait(WAIT), 'python-socketio did not disconnect its client'
    assert a.gone.wait(WAIT), 'our server did not disconnect its client'
    assert peer.wait_event(lambda e: e.get('event') == 'disconnect' and e['sid'] == b_sid)
    assert wait_for(lambda: ('/', a_sid, 'server disconnect') in ours.disconnects, WAIT)


# -- acknowledgements across servers ---------------------------------------------------

def test_callbacks_across_servers(cluster):
    ours, peer, a, b = cluster.ours, cluster.peer, cluster.a, cluster.b
    answers = []
    ours.do('emit', 'ask', 'q1', to=b.sid, callback=lambda *args: answers.append(args))
    assert wait_for(lambda: answers == [('b says q1',)], WAIT), answers
    if ours.kind == 'async':
        async def coro_callback(*args):
            answers.append(('coroutine',) + args)
        ours.do('emit', 'ask', 'q1b', to=b.sid, callback=coro_callback)
        assert wait_for(lambda: ('coroutine', 'b says q1b') in answers, WAIT), answers
    assert ours.do('call', 'ask', 'q2', to=b.sid, timeout=WAIT) == 'b says q2'
    # In another namespace.
    assert ours.do('call', 'ask', 'q2c', to=b.chat_sid, namespace='/chat',
                   timeout=WAIT) == 'b says q2c'
    # python-socketio asking our client.
    n = peer.emit_cb('ask', 'q3', to=a.sid)
    assert peer.answer(n) == ['a says q3']
    assert peer.do('call', 'ask', 'q4', to=a.sid, timeout=WAIT) == 'a says q4'
    # Our own client through the same path stays local.
    assert ours.do('call', 'ask', 'q5', to=a.sid, timeout=WAIT) == 'a says q5'


def test_call_to_a_remote_sid_times_out(cluster):
    ours = cluster.ours
    with pytest.raises(socketio_rs.exceptions.TimeoutError):
        ours.do('call', 'never-acked', 'x', to='no-such-sid', timeout=0.5)


def test_binary_payloads_across_servers(cluster):
    ours, peer, a, b = cluster.ours, cluster.peer, cluster.a, cluster.b
    blob = bytes(range(256))
    ours.do('emit', 'bin', {'blob': blob, 'more': [b'\x00', 'text']}, to=b.sid)
    b.wait('bin', {'blob': blob, 'more': [b'\x00', 'text']})
    ours.do('emit', 'bin', (b'one', b'two'))
    b.wait('bin', b'one', b'two')
    a.wait('bin', b'one', b'two')
    peer.do('emit', 'bin', (b'\x01\x02', {'x': b'y'}), to=a.sid)
    a.wait('bin', b'\x01\x02', {'x': b'y'})


# -- write-only emitters -------------------------------------------------------------

def test_our_write_only_emitter_reaches_both_servers(cluster):
    a, b, ours = cluster.a, cluster.b, cluster.ours
    mgr = socketio_rs.RedisManager(cluster.url, write_only=True)
    assert a.call('join', 'den') == 'joined'
    assert b.call('join', 'den') == 'joined'
    mgr.emit('news', 'write-only')
    a.wait('news', 'write-only')
    b.wait('news', 'write-only')
    mgr.emit('news', 'den, not a', room='den', skip_sid=a.sid)
    mgr.emit('news', 'to a', to=a.sid)
    mgr.emit('news', (b'\x00bin', 2), namespace='/chat')
    b.wait('news', 'den, not a')
    a.wait('news', 'to a')
    a.wait('news', b'\x00bin', 2, ns='/chat')
    b.wait('news', b'\x00bin', 2, ns='/chat')
    # Rooms and disconnection of clients of either server.
    mgr.enter_room(b.sid, '/', 'wo-room')
    mgr.enter_room(a.sid, None, 'wo-room')
    mgr.emit('news', 'wo-room', room='wo-room')
    a.wait('news', 'wo-room')
    b.wait('news', 'wo-room')
    mgr.leave_room(a.sid, '/', 'wo-room')
    mgr.emit('news', 'wo-room again', room='wo-room')
    b.wait('news', 'wo-room again')
    mgr.close_room('den')
    mgr.emit('news', 'den closed', room='den')
    m = marker()
    mgr.emit('news', m)
    a.wait('news', m)
    b.wait('news', m)
    assert not a.got('news', 'den, not a') and not b.got('news', 'to a')
    assert not a.got('news', 'wo-room again')
    assert not a.got('news', 'den closed') and not b.got('news', 'den closed')
    with pytest.raises(RuntimeError):
        mgr.emit('news', 'x', to=a.sid, callback=print)
    mgr.disconnect(b.sid)
    mgr.disconnect(a.sid, namespace='/')
    assert a.gone.wait(WAIT) and b.gone.wait(WAIT)
    assert wait_for(lambda: any(d[1] == a.sid for d in ours.disconnects), WAIT)


def test_our_async_write_only_emitter(make_cluster):
    cluster = make_cluster('async')
    a, b = cluster.a, cluster.b

    async def main():
        mgr = socketio_rs.AsyncRedisManager(cluster.url, write_only=True)
        await mgr.emit('news', 'async write-only')
        await mgr.enter_room(b.sid, '/', 'awo')
        await mgr.emit('news', 'awo', room='awo', skip_sid=a.sid)
        await mgr.leave_room(b.sid, '/', 'awo')
        await mgr.close_room('awo')
        with pytest.raises(RuntimeError):
            await mgr.emit('news', 'x', to=a.sid, callback=print)
        await mgr.disconnect(a.sid)

    asyncio.run(main())
    a.wait('news', 'async write-only')
    b.wait('news', 'async write-only')
    b.wait('news', 'awo')
    assert a.gone.wait(WAIT)
    assert not b.gone.is_set()


def test_python_socketio_write_only_reaches_ours(make_cluster):
    import socketio
    cluster = make_cluster('sync')
    a, b = cluster.a, cluster.b
    mgr = socketio.RedisManager(cluster.url, write_only=True)
    mgr.emit('news', 'from python-socketio write-only')
    a.wait('news', 'from python-socketio write-only')
    b.wait('news', 'from python-socketio write-only')
    mgr.enter_room(a.sid, '/', 'pw')
    mgr.emit('news', (b'\xffbin', 'pw'), room='pw')
    a.wait('news', b'\xffbin', 'pw')
    mgr.leave_room(a.sid, '/', 'pw')
    mgr.emit('news', 'pw again', room='pw')
    mgr.emit('news', 'skip a', skip_sid=a.sid)
    m = marker()
    mgr.emit('news', m, to=a.sid)
    a.wait('news', m)
    b.wait('news', 'skip a')
    assert not a.got('news', 'pw again') and not a.got('news', 'skip a')

    async def main():
        amgr = socketio.AsyncRedisManager(cluster.url, write_only=True)
        await amgr.emit('news', 'from the async one', to=a.sid)
        await amgr.close_room('pw')

    asyncio.run(main())
    a.wait('news', 'from the async one')


# -- a python-socketio Server (threading) peer ------------------------------------------

@pytest.mark.parametrize('ours_kind', ['sync', 'async'])
def test_python_socketio_threading_server(make_cluster, ours_kind):
    cluster = make_cluster(ours_kind, 'sync')
    ours, peer, a, b = cluster.ours, cluster.peer, cluster.a, cluster.b
    ours.do('emit', 'news', 'from ours')
    peer.do('emit', 'news', 'from the threading one')
    for c in (a, b):
        c.wait('news', 'from ours')
        c.wait('news', 'from the threading one')
    ours.do('enter_room', b.sid, 'mixed')
    ours.do('emit', 'news', 'mixed', room='mixed')
    b.wait('news', 'mixed')
    assert ours.do('call', 'ask', 'q', to=b.sid, timeout=WAIT) == 'b says q'
    assert peer.do('call', 'ask', 'q', to=a.sid, timeout=WAIT) == 'a says q'
    peer.do('emit', 'bin', {'b': b'\x00\x01'}, to=a.sid)
    a.wait('bin', {'b': b'\x00\x01'})


# -- the messages, byte for byte as python-socketio's -----------------------------------

def test_messages_are_python_socketios(redis_url):  # noqa: F811
    import socketio
    theirs = socketio.RedisManager(redis_url, write_only=True)
    ours = socketio_rs.RedisManager(redis_url, write_only=True)
    published = {'theirs': [], 'ours': []}
    theirs._publish = lambda m: published['theirs'].append(json.loads(json.dumps(m)))
    ours._send = lambda payload: published['ours'].append(json.loads(payload))
    calls = [
        ('emit', ('ev', 'text'), {}),
        ('emit', ('ev', (1, [2], {'3': None})), {'room': 'r', 'skip_sid': 's'}),
        ('emit', ('ev', {'blob': b'\x00\x01', 'l': [b'a', 'b', b'c']}),
         {'to': 'sid1', 'namespace': '/chat'}),
        ('emit', ('ev', None), {'room': ['r1', 'r2'], 'skip_sid': ['s1', 's2']}),
        ('enter_room', ('sid1', '/chat', 'room'), {}),
        ('leave_room', ('sid1', '/', 'room'), {}),
        ('close_room', ('room',), {'namespace': '/chat'}),
    ]
    for name, args, kwargs in calls:
        getattr(theirs, name)(*args, **kwargs)
        getattr(ours, name)(*args, **kwargs)
    assert len(published['theirs']) == len(calls)
    for t, o in zip(published['theirs'], published['ours']):
        assert t.pop('host_id') == theirs.host_id
        assert o.pop('host_id') == ours.host_id
        assert o == t
    # A server's emit with a callback, and its disconnection of a client
    # it does not have, as python-socketio's PubSubManager words them.
    seen = []
    listener = socketio_rs.RedisManager(redis_url, write_only=True)._client.pubsub()
    listener.subscribe('socketio')
    assert listener.get_message(timeout=WAIT)['type'] == 'subscribe'
    sio = socketio_rs.Server(client_manager=socketio_rs.RedisManager(redis_url))
    try:
        sio.listen('127.0.0.1', 0)
        sio.emit('ev', b'\x07', to='elsewhere', callback=lambda *a: None)
        sio.disconnect('elsewhere', namespace='/chat')
        sio.enter_room('elsewhere', 'r')
        while len(seen) < 3:
            msg = listener.get_message(ignore_subscribe_messages=True, timeout=WAIT)
            assert msg is not None, 'nothing published'
            seen.append(json.loads(msg['data']))
    finally:
        sio.shutdown()
        listener.close()
    host = sio._pubsub.host_id
    assert seen[0] == {'method': 'emit', 'event': 'ev',
                       'data': [[{'_placeholder': True, 'num': 0}], 'Bw=='],
                       'binary': True, 'namespace': '/', 'room': 'elsewhere',
                       'skip_sid': None, 'callback': ['elsewhere', '/', seen[0]['callback'][2]],
                       'host_id': host}
    assert isinstance(seen[0]['callback'][2], int)
    assert seen[1] == {'method': 'disconnect', 'sid': 'elsewhere', 'namespace': '/chat',
                       'host_id': host}
    assert seen[2] == {'method': 'enter_room', 'sid': 'elsewhere', 'room': 'r',
                       'namespace': '/', 'host_id': host}


# -- options, refusals, an unreachable Redis -----------------------------------------------

def _closed_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_unreachable_redis_raises_at_construction():
    port = _closed_port()
    url = f'redis://:secret@127.0.0.1:{port}/0'
    for cls in (socketio_rs.RedisManager, socketio_rs.AsyncRedisManager):
        for write_only in (False, True):
            with pytest.raises(ConnectionError) as err:
                cls(url, write_only=write_only)
            assert f'127.0.0.1:{port}' in str(err.value)
            assert 'secret' not in str(err.value)
    with pytest.raises(ConnectionError):
        socketio_rs.RedisManager(f'redis+sentinel://127.0.0.1:{_closed_port()}/0/mymaster')


def test_redis_gone_before_start_raises_at_listen():
    port = _closed_port()
    proc = _redis_server(port)
    try:
        mgr = socketio_rs.RedisManager(f'redis://127.0.0.1:{port}')
    finally:
        proc.kill()
        proc.wait(10)
    sio = socketio_rs.Server(client_manager=mgr)
    with pytest.raises(ConnectionError) as err:
        sio.listen('127.0.0.1', 0)
    assert f'127.0.0.1:{port}' in str(err.value)
    assert not any(t.name == 'socketio_rs-redis-listener' for t in threading.enumerate())


def _redis_server(port):
    binary = shutil.which('redis-server') or '/usr/bin/redis-server'
    if not os.path.exists(binary):
        pytest.skip('redis-server is not installed')
    proc = subprocess.Popen([binary, '--port', str(port), '--bind', '127.0.0.1', '--save', '',
                             '--appendonly', 'no'], stdout=subprocess.DEVNULL)
    if not wait_for(lambda: _can_connect(port), WAIT):
        proc.kill()
        pytest.fail('redis-server did not start')
    return proc


@pytest.mark.parametrize('kind', ['sync', 'async'])
def test_listener_comes_back_after_redis_restarts(sio_client, kind):
    port = _closed_port()
    url = f'redis://127.0.0.1:{port}'
    proc = _redis_server(port)
    ours = None
    try:
        ours = Ours(kind, url)
        a = Client(sio_client, ours.url, 'a')
        mgr = socketio_rs.RedisManager(url, write_only=True)
        mgr.emit('news', 'before')
        a.wait('news', 'before')
        proc.kill()
        proc.wait(10)
        proc = _redis_server(port)
        # The listener logs, waits a second, connects and subscribes again.
        assert wait_for(lambda: numsub(url) == 1, WAIT)
        mgr.emit('news', 'after')
        a.wait('news', 'after')
    finally:
        if ours is not None:
            ours.close()
        proc.kill()
        proc.wait(10)


def _can_connect(port):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=1).close()
        return True
    except OSError:
        return False


def test_options_are_honoured_or_refused(redis_url):  # noqa: F811
    import redis
    url = redis_url
    # Node flavours: the Node adapter's key; what they cannot take raises.
    node = socketio_rs.RedisManager(url, flavour='classic')
    assert node.channel == 'socket.io' and node.native_options()['key'] == 'socket.io'
    assert socketio_rs.RedisManager(url).channel == 'socketio'
    with pytest.raises(ValueError, match='write-only emitter of the Node'):
        socketio_rs.RedisManager(url, write_only=True, flavour='sharded')
    for kwargs in ({'redis_options': {'db': 1}}, {'logger': logging.getLogger('x')},
                   {'json': type('J', (), {'dumps': len, 'loads': len})}):
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            socketio_rs.RedisManager(url, flavour='classic', **kwargs)
    with pytest.raises(ValueError, match='flavour'):
        socketio_rs.RedisManager(url, flavour='gossip')
    with pytest.raises(ValueError, match='scheme'):
        socketio_rs.RedisManager('amqp://localhost//')
    with pytest.raises(TypeError):
        socketio_rs.RedisManager(url, redis_options={'no_such_option': 1})
    with pytest.raises(TypeError, match='bogus'):
        socketio_rs.RedisManager(url, write_only=True).emit('ev', 1, bogus=True)
    # redis_options reach redis-py: the connections carry the client name.
    mgr = socketio_rs.RedisManager(url, write_only=True,
                                   redis_options={'client_name': 'sio-options-test'})
    mgr.emit('ev', 'x')
    r = redis.Redis.from_url(url)
    try:
        assert any(c.get('name') == 'sio-options-test' for c in r.client_list())
    finally:
        r.close()
    # json: a write-only manager's own; a server's manager uses the server's.
    dumped = []

    class Json:
        @staticmethod
        def dumps(obj):
            dumped.append(obj)
            return json.dumps(obj)

        loads = staticmethod(json.loads)

    socketio_rs.RedisManager(url, write_only=True, json=Json).emit('ev', 'j')
    assert dumped and dumped[0]['event'] == 'ev'
    with pytest.raises(ValueError, match='json'):
        socketio_rs.Server(client_manager=socketio_rs.RedisManager(url, json=Json))
    # One manager per server; one whose server was refused is free.
    shared = socketio_rs.RedisManager(url)
    with pytest.raises(TypeError):
        socketio_rs.Server(client_manager=shared, no_such_option=1)
    socketio_rs.Server(client_manager=shared)
    with pytest.raises(ValueError, match='another server'):
        socketio_rs.Server(client_manager=shared)
    # A server's manager is driven through the server.
    with pytest.raises(RuntimeError, match="server's emit"):
        shared.emit('ev', 1)
    with pytest.raises(ValueError, match='room'):
        socketio_rs.Server(client_manager=socketio_rs.RedisManager(url)).emit(
            'ev', 1, callback=print)


def test_logger_and_channel_options(redis_url):  # noqa: F811
    records = []

    class Grab(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    log = logging.getLogger('socketio_rs.test.pubsub')
    log.setLevel(logging.DEBUG)
    log.addHandler(Grab())
    log.propagate = False
    ours = Ours('sync', redis_url,
                manager=socketio_rs.RedisManager(redis_url, channel='other', logger=log))
    try:
        assert wait_for(lambda: numsub(redis_url, 'other') == 1, WAIT)
        assert numsub(redis_url, 'socketio') == 0
        socketio_rs.RedisManager(redis_url, 'other', write_only=True).emit('ev', 1)
        assert wait_for(lambda: 'pubsub message: emit' in records, WAIT), records
    finally:
        ours.close()


@pytest.mark.parametrize('kind', ['sync', 'async'])
def test_shutdown_ends_the_listener(redis_url, kind):  # noqa: F811
    def listeners():
        return [t for t in threading.enumerate() if t.name == 'socketio_rs-redis-listener']

    before = len(listeners())
    ours = Ours(kind, redis_url)
    assert len(listeners()) == before + 1
    assert wait_for(lambda: numsub(redis_url) == 1, WAIT)
    ours.close()
    assert len(listeners()) == before
    assert wait_for(lambda: numsub(redis_url) == 0, WAIT)


def test_sentinel_url(redis_url, make_cluster, tmp_path):  # noqa: F811
    binary = shutil.which('redis-server') or '/usr/bin/redis-server'
    port = int(redis_url.rsplit(':', 1)[1])
    sport = _closed_port()
    conf = tmp_path / 'sentinel.conf'
    conf.write_text(f'port {sport}\nbind 127.0.0.1\n'
                    f'sentinel monitor mymaster 127.0.0.1 {port} 1\n')
    proc = subprocess.Popen([binary, str(conf), '--sentinel'], stdout=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: _can_connect(sport), WAIT)
        cluster = make_cluster('sync')
        url = f'redis+sentinel://127.0.0.1:{sport}/0/mymaster'
        mgr = None

        def made():
            nonlocal mgr
            try:
                mgr = socketio_rs.RedisManager(url, write_only=True)
                return True
            except ConnectionError:
                return False  # the sentinel has not seen the master yet

        assert wait_for(made, WAIT, step=0.1)
        mgr.emit('news', 'through the sentinel')
        cluster.a.wait('news', 'through the sentinel')
        cluster.b.wait('news', 'through the sentinel')
    finally:
        proc.kill()
        proc.wait(10)


if __name__ == '__main__' and len(sys.argv) == 4 and sys.argv[1] == 'peer':
    _peer_main(sys.argv[2], sys.argv[3])
