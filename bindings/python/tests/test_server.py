"""``socketio_rs.Server`` (handlers on worker threads) with python-socketio's
``Client`` as the peer."""

import logging
import threading
import time

import pytest
import socketio

import socketio_rs
from conftest import wait_for


def test_connect_environ_auth_and_events(sync_server, sio_client):
    seen = []

    def setup(sio):
        @sio.event
        def connect(sid, environ, auth):
            seen.append(('connect', auth, environ['HTTP_X_TEST'], environ['QUERY_STRING']))
            # python-socketio lets a connect handler emit to its client.
            sio.emit('welcome', sid, to=sid)

        @sio.event
        def echo(sid, *args):
            return args

        @sio.on('single')
        def single(sid, data):
            return data

        @sio.event
        def noreturn(sid):
            seen.append('noreturn')

    sio, url = sync_server(setup)
    c = sio_client()
    welcome = []
    c.on('welcome', welcome.append)
    c.connect(url + '?k=v', auth={'token': 't'}, headers={'X-Test': 'yes'})
    assert c.call('echo', (1, 'two', b'\x00\x01', {'a': [1.5, None]})) == \
        (1, 'two', b'\x00\x01', {'a': [1.5, None]})
    assert c.call('single', {'x': True}) == {'x': True}
    assert c.call('noreturn') is None
    assert wait_for(lambda: welcome)
    sid = welcome[0]
    assert seen[0][0] == 'connect' and seen[0][1] == {'token': 't'} and seen[0][2] == 'yes'
    assert 'k=v' in seen[0][3]
    assert sio.get_environ(sid)['HTTP_X_TEST'] == 'yes'
    assert sio.transport(sid) in ('polling', 'websocket')


def test_legacy_connect_signature(sync_server, sio_client):
    seen = []

    def setup(sio):
        @sio.event
        def connect(sid, environ):
            seen.append(sid)

    _, url = sync_server(setup)
    sio_client().connect(url)
    assert wait_for(lambda: seen)


def test_refusal(sync_server, sio_client):
    def setup(sio):
        @sio.event
        def connect(sid, environ, auth):
            if auth == {'mode': 'raise'}:
                raise socketio_rs.exceptions.ConnectionRefusedError('bad token', {'code': 7})
            if auth == {'mode': 'false'}:
                return False
            if auth == {'mode': 'builtin'}:
                raise ConnectionRefusedError('builtin')
            return None

    _, url = sync_server(setup)
    for mode, expected in [('raise', {'message': 'bad token', 'data': {'code': 7}}),
                           ('false', {'message': 'Connection rejected by server'}),
                           ('builtin', {'message': 'Connection refused by server'})]:
        c = sio_client(reconnection=False)
        errors = []
        c.on('connect_error', errors.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            c.connect(url, auth={'mode': mode})
        assert errors == [expected]
    ok = sio_client()
    ok.connect(url, auth={'mode': 'ok'})
    assert ok.connected


def test_catch_all_and_send(sync_server, sio_client):
    got = []

    def setup(sio):
        @sio.on('*')
        def catch_all(event, sid, *args):
            got.append((event, args))
            return event.upper(), len(args)

        @sio.event
        def message(sid, data):
            got.append(('message', data))
            sio.send(data.upper(), to=sid)

    _, url = sync_server(setup)
    c = sio_client()
    replies = []
    c.on('message', replies.append)
    c.connect(url)
    c.emit('anything', (1, 2))
    c.send('hello')
    assert wait_for(lambda: len(got) == 2 and replies == ['HELLO'])
    assert ('anything', (1, 2)) in got and ('message', 'hello') in got
    # As in python-socketio, the catch-all's return value acknowledges.
    assert c.call('asked', 3) == ('ASKED', 1)


def test_emit_targets_rooms_and_callbacks(sync_server, sio_client):
    sids = {}

    def setup(sio):
        @sio.event
        def hello(sid, name):
            sids[name] = sid
            sio.enter_room(sid, 'even' if name in ('a', 'c') else 'odd')
            sio.enter_room(sid, 'all')

    sio, url = sync_server(setup)
    inbox = {}
    clients = {}
    for name in 'abc':
        c = sio_client()
        inbox[name] = []
        c.on('news', lambda d, n=name: inbox[n].append(d))
        c.on('ask', lambda d: d + '!')
        c.connect(url)
        c.emit('hello', name)
        clients[name] = c
    assert wait_for(lambda: len(sids) == 3)
    assert sorted(sio.rooms(sids['a'])) == sorted([sids['a'], 'even', 'all'])

    sio.emit('news', 'everyone')
    sio.emit('news', 'to-even', room='even')
    sio.emit('news', 'to-b', to=sids['b'])
    sio.emit('news', 'all-but-a', to='all', skip_sid=sids['a'])
    sio.emit('news', 'odd+even', to=['odd', 'even'], skip_sid=[sids['c']])
    assert wait_for(lambda: len(inbox['a']) == 3 and len(inbox['b']) == 4 and len(inbox['c']) == 3)
    assert inbox['a'] == ['everyone', 'to-even', 'odd+even']
    assert inbox['b'] == ['everyone', 'to-b', 'all-but-a', 'odd+even']
    assert inbox['c'] == ['everyone', 'to-even', 'all-but-a']

    sio.leave_room(sids['a'], 'even')
    sio.emit('news', 'even-after-leave', room='even')
    sio.close_room('all')
    sio.emit('news', 'all-after-close', room='all')
    answers = []
    sio.emit('ask', 'q', room='odd', callback=lambda a: answers.append(a))
    assert wait_for(lambda: answers == ['q!'])
    assert wait_for(lambda: inbox['c'][-1] == 'even-after-leave')
    assert 'even-after-leave' not in inbox['a']
    assert all('all-after-close' not in v for v in inbox.values())
    assert sio.call('ask', 'direct', to=sids['a']) == 'direct!'


def test_call_timeout(sync_server, sio_client):
    sio, url = sync_server()
    c = sio_client()
    c.on('slow', lambda: time.sleep(3))
    c.connect(url)
    sid = c.get_sid('/')
    t0 = time.monotonic()
    with pytest.raises(socketio_rs.exceptions.TimeoutError):
        sio.call('slow', to=sid, timeout=0.3)
    assert time.monotonic() - t0 < 2.5


def test_sessions(sync_server, sio_client):
    def setup(sio):
        @sio.event
        def connect(sid, environ):
            sio.save_session(sid, {'user': 'ann'})

        @sio.event
        def bump(sid):
            with sio.session(sid) as s:
                s['n'] = s.get('n', 0) + 1
            return sio.get_session(sid)

    _, url = sync_server(setup)
    c = sio_client()
    c.connect(url)
    assert c.call('bump') == {'user': 'ann', 'n': 1}
    assert c.call('bump') == {'user': 'ann', 'n': 2}


def test_disconnects_and_reasons(sync_server, sio_client):
    reasons = []

    def setup(sio):
        @sio.event
        def disconnect(sid, reason):
            reasons.append(reason)

        @sio.event
        def kick(sid):
            sio.disconnect(sid)

    sio, url = sync_server(setup)
    c = sio_client(reconnection=False)
    client_reasons = []
    c.on('disconnect', lambda *a: client_reasons.append(a))
    c.connect(url)
    c.emit('kick')
    assert wait_for(lambda: reasons == ['server disconnect'])
    assert wait_for(lambda: client_reasons)
    c2 = sio_client()
    c2.connect(url)
    c2.disconnect()
    assert wait_for(lambda: len(reasons) == 2)
    assert reasons[1] in ('client disconnect', 'transport close')


def test_legacy_disconnect_signature(sync_server, sio_client):
    seen = []

    def setup(sio):
        @sio.event
        def disconnect(sid):
            seen.append(sid)

    _, url = sync_server(setup)
    c = sio_client()
    c.connect(url)
    c.disconnect()
    assert wait_for(lambda: seen)


def test_namespaces_and_class_based(sync_server, sio_client):
    class Chat(socketio_rs.Namespace):
        def on_connect(self, sid, environ):
            self.enter_room(sid, 'chat')

        def on_say(self, sid, text):
            self.emit('said', text, room='chat')
            return 'ok'

    def setup(sio):
        sio.register_namespace(Chat('/chat'))

        @sio.on('ping', namespace='/other')
        def ping(sid):
            return 'pong'

    _, url = sync_server(setup)
    c = sio_client()
    said = []
    c.on('said', said.append, namespace='/chat')
    c.connect(url, namespaces=['/chat', '/other'])
    assert c.call('say', 'hi', namespace='/chat') == 'ok'
    assert c.call('ping', namespace='/other') == 'pong'
    assert wait_for(lambda: said == ['hi'])
    # A namespace nobody handles is refused.
    c2 = sio_client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        c2.connect(url, namespaces=['/nobody'])


def test_raising_handler_is_logged_and_server_goes_on(sync_server, sio_client, caplog):
    def setup(sio):
        @sio.event
        def boom(sid):
            raise RuntimeError('handler bug')

        @sio.event
        def ok(sid):
            return 'still here'

    _, url = sync_server(setup)
    c = sio_client()
    c.connect(url)
    with caplog.at_level(logging.ERROR, logger='socketio_rs'):
        c.emit('boom')
        assert c.call('ok') == 'still here'
        assert wait_for(lambda: 'handler bug' in caplog.text)


def test_events_of_one_client_stay_in_order(sync_server, sio_client):
    got = []

    def setup(sio):
        @sio.event
        def seq(sid, n):
            if n % 7 == 0:
                time.sleep(0.01)
            got.append(n)

    _, url = sync_server(setup)
    c = sio_client()
    c.connect(url)
    for i in range(50):
        c.emit('seq', i)
    assert wait_for(lambda: len(got) == 50)
    assert got == list(range(50))


def test_background_task_and_sleep(sync_server, sio_client):
    sio, url = sync_server()
    c = sio_client()
    ticks = []
    c.on('tick', ticks.append)
    c.connect(url)

    def task(n):
        for i in range(n):
            sio.emit('tick', i)
            sio.sleep(0.01)

    t = sio.start_background_task(task, 3)
    assert isinstance(t, threading.Thread)
    t.join(5)
    assert wait_for(lambda: ticks == [0, 1, 2])


def test_wait_returns_after_shutdown(sync_server):
    sio, _ = sync_server()
    threading.Timer(0.2, sio.shutdown).start()
    t0 = time.monotonic()
    sio.wait()
    assert time.monotonic() - t0 < 5


def test_websocket_only_and_polling_only(sync_server, sio_client):
    def setup(sio):
        @sio.event
        def which(sid):
            return sio.transport(sid)

    _, url = sync_server(setup)
    ws = sio_client()
    ws.connect(url, transports=['websocket'])
    assert ws.call('which') == 'websocket'
    polling = sio_client()
    polling.connect(url, transports=['polling'])
    assert polling.call('which') == 'polling'


def test_any_namespace_with_star_handlers(sync_server, sio_client):
    def setup(sio):
        @sio.on('connect', namespace='*')
        def connect(namespace, sid, environ):
            sio.enter_room(sid, 'r', namespace=namespace)

        @sio.on('where', namespace='*')
        def where(namespace, sid):
            return namespace, sio.rooms(sid, namespace=namespace)

        @sio.on('*', namespace='*')
        def any_event(event, namespace, sid, data):
            sio.emit('seen', (event, namespace, data), to=sid, namespace=namespace)
            return event, namespace

    _, url = sync_server(setup, namespaces='*')
    c = sio_client()
    seen = []
    c.on('seen', lambda *a: seen.append(a), namespace='/dyn-1')
    c.connect(url, namespaces=['/dyn-1', '/dyn-2'])
    ns, rooms = c.call('where', namespace='/dyn-2')
    assert ns == '/dyn-2' and 'r' in rooms
    c.emit('other', 5, namespace='/dyn-1')
    assert wait_for(lambda: seen == [('other', '/dyn-1', 5)])
    assert c.call('asked', 6, namespace='/dyn-2') == ('asked', '/dyn-2')


def test_engine_options_and_cors(sync_server):
    import json
    import urllib.request

    sio, url = sync_server(ping_interval=(7, 3), ping_timeout=4, max_http_buffer_size=12345,
                           cors_allowed_origins='http://example.com')
    req = urllib.request.Request(url + '/socket.io/?EIO=4&transport=polling',
                                 headers={'Origin': 'http://example.com'})
    with urllib.request.urlopen(req, timeout=5) as r:
        body = r.read().decode()
        allow = r.headers.get('Access-Control-Allow-Origin')
    handshake = json.loads(body[1:])  # after the Engine.IO "open" packet type
    assert handshake['pingInterval'] == 7000 and handshake['pingTimeout'] == 4000
    assert handshake['maxPayload'] == 12345
    assert allow == 'http://example.com'


def test_emit_before_anyone_and_unknown_sids(sync_server):
    sio, _ = sync_server()
    sio.emit('nobody', 1)
    sio.emit('nobody', 1, to='no-such-sid')
    sio.emit('nobody', 1, namespace='/not-registered')
    sio.enter_room('no-such-sid', 'room')
    assert sio.rooms('no-such-sid') == []
    with pytest.raises(socketio_rs.exceptions.DisconnectedError):
        sio.call('x', to='no-such-sid', timeout=1)


def test_many_clients_concurrently_and_slow_handlers_do_not_block_others(sync_server,
                                                                        sio_client):
    def setup(sio):
        @sio.event
        def work(sid, n):
            return n * 2

        @sio.event
        def slow(sid):
            time.sleep(1.5)
            return 'slow done'

    _, url = sync_server(setup)
    blocker = sio_client()
    blocker.connect(url)
    slow_result = []
    blocker.emit('slow', callback=slow_result.append)
    clients = []
    for _ in range(8):
        c = sio_client()
        c.connect(url)
        clients.append(c)
    errors, done = [], []

    def run(c):
        try:
            for i in range(25):
                assert c.call('work', i, timeout=10) == i * 2
            done.append(1)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    t0 = time.monotonic()
    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and len(done) == 8
    # All of that went on while the slow handler of another client slept.
    assert time.monotonic() - t0 < 10
    assert wait_for(lambda: slow_result == ['slow done'])
