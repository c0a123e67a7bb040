"""``instrument()``: the Socket.IO Admin UI's server side, driven through
the admin namespace by python-socketio's clients as the official UI drives
it (``@socket.io/admin-ui``'s protocol): logins by dict, list, callable or
none; ``config``, ``all_sockets`` and ``server_stats``; the UI's
``_disconnect`` and ``join`` acting on a real client."""

import asyncio
import logging
import threading

import pytest
import socketio

import socketio_rs
from conftest import wait_for

CREDENTIALS = {'username': 'admin', 'password': 's3cret'}
SOCKET_KEYS = {'id', 'clientId', 'transport', 'nsp', 'data', 'handshake', 'rooms'}
STATS_KEYS = {'serverId', 'hostname', 'pid', 'uptime', 'clientsCount', 'pollingClientsCount',
              'aggregatedEvents', 'namespaces'}
ALL_FEATURES = ['EMIT', 'JOIN', 'LEAVE', 'DISCONNECT', 'MJOIN', 'MLEAVE', 'MDISCONNECT',
                'AGGREGATED_EVENTS', 'ALL_EVENTS']


class Recorder:
    """Every event a client receives on the admin namespace."""

    def __init__(self, client, namespace='/admin'):
        self.events = []
        self.lock = threading.Lock()
        client.on('*', self._any, namespace=namespace)
        client.on('connect_error', self._error, namespace=namespace)

    def _any(self, event, *args):
        with self.lock:
            self.events.append((event, args))

    def _error(self, data):
        with self.lock:
            self.events.append(('connect_error', (data,)))

    def of(self, name):
        with self.lock:
            return [args for event, args in self.events if event == name]

    def wait(self, name, pred=lambda args: True, timeout=6.0):
        found = []

        def seen():
            found[:] = [a for a in self.of(name) if pred(a)]
            return bool(found)

        assert wait_for(seen, timeout), f'no {name} within {timeout}s: {self.events}'
        return found[0]


def admin_client(sio_client, url, auth, namespace='/admin'):
    """A python-socketio client logging into the admin namespace; returns
    it, its recorder and the connection error (None when let in)."""
    c = sio_client()
    rec = Recorder(c, namespace)
    try:
        c.connect(url, namespaces=[namespace], auth=auth, transports=['websocket'],
                  wait_timeout=5)
    except socketio.exceptions.ConnectionError as exc:
        return c, rec, exc
    return c, rec, None


def user_setup(seen):
    def setup(sio):
        @sio.event
        def connect(sid, environ, auth):
            seen.append(('connect', sid))

        @sio.event
        def disconnect(sid, reason):
            seen.append(('disconnect', sid, reason))

    return setup


def test_dict_login_sockets_stats_and_disconnect_action(sync_server, sio_client):
    seen = []

    def setup(sio):
        user_setup(seen)(sio)
        inst = sio.instrument(auth=dict(CREDENTIALS), server_id='py-1')
        assert inst.admin_namespace == '/admin' and inst.server_id == 'py-1'
        assert inst.mode == 'development' and inst.read_only is False

    sio, url = sync_server(setup)
    user = sio_client()
    user.connect(url, transports=['websocket'])
    assert wait_for(lambda: seen)
    user_sid = user.get_sid('/')

    # Wrong logins are refused with the npm server's message.
    for auth in ({'username': 'admin', 'password': 'nope'}, {'username': 'admin'},
                 dict(CREDENTIALS, extra=1), None):
        _, rec, err = admin_client(sio_client, url, auth)
        assert err is not None, auth
        assert rec.of('connect_error') == [({'message': 'invalid credentials'},)], auth

    c, rec, err = admin_client(sio_client, url, dict(CREDENTIALS))
    assert err is None
    (session,) = rec.wait('session')
    assert isinstance(session, str) and len(session) == 16
    (config,) = rec.wait('config')
    assert config == {'supportedFeatures': ALL_FEATURES}

    (all_sockets,) = rec.wait('all_sockets')
    by_nsp = {(s['nsp'], s['id']): s for s in all_sockets}
    assert ('/', user_sid) in by_nsp and ('/admin', c.get_sid('/admin')) in by_nsp
    s = by_nsp[('/', user_sid)]
    assert set(s) == SOCKET_KEYS
    assert s['transport'] == 'websocket' and s['rooms'] == [user_sid]
    assert set(s['handshake']) >= {'address', 'headers', 'query', 'issued', 'secure', 'time',
                                   'url'}
    assert s['handshake']['address'] == '127.0.0.1'

    (stats,) = rec.wait('server_stats', timeout=5)
    assert set(stats) == STATS_KEYS
    assert stats['serverId'] == 'py-1'
    assert stats['clientsCount'] == 2 and stats['pollingClientsCount'] == 0
    assert {'name': '/', 'socketsCount': 1} in stats['namespaces']
    assert {'name': '/admin', 'socketsCount': 1} in stats['namespaces']
    assert isinstance(stats['aggregatedEvents'], list)

    # The session id logs a UI in again without the password.
    c2, rec2, err = admin_client(sio_client, url, {'sessionId': session})
    assert err is None
    rec2.wait('config')
    assert rec2.of('session') == []
    c2.disconnect()

    # The UI's actions act on the real client.
    c.emit('join', ('/', 'vip', user_sid), namespace='/admin')
    assert wait_for(lambda: 'vip' in sio.rooms(user_sid))
    rec.wait('room_joined', lambda a: a[1] == 'vip' and a[2] == user_sid)
    c.emit('_disconnect', ('/', False, user_sid), namespace='/admin')
    assert wait_for(lambda: ('disconnect', user_sid, sio.reason.SERVER_DISCONNECT) in seen), seen
    assert wait_for(lambda: not user.connected)
    rec.wait('socket_disconnected', lambda a: a[0] == '/' and a[1] == user_sid)


def test_list_callable_and_disabled_logins(sync_server, sio_client, caplog):
    accounts = [{'username': 'a', 'password': '1'}, {'username': 'b', 'password': '2'}]
    _, url = sync_server(lambda sio: sio.instrument(auth=accounts))
    for auth in accounts:
        _, rec, err = admin_client(sio_client, url, auth)
        assert err is None, auth
        rec.wait('config')
    _, rec, err = admin_client(sio_client, url, {'username': 'a', 'password': '2'})
    assert err is not None

    asked = []
    threads = []

    def check(client_auth):
        asked.append(client_auth)
        threads.append(threading.current_thread().name)
        if client_auth == {'token': 'boom'}:
            raise RuntimeError('check failed')
        return client_auth == {'token': 'ok'}

    _, url = sync_server(lambda sio: sio.instrument(auth=check, namespace='/ops'))
    _, rec, err = admin_client(sio_client, url, {'token': 'ok'}, namespace='/ops')
    assert err is None
    rec.wait('config')
    _, rec, err = admin_client(sio_client, url, {'token': 'no'}, namespace='/ops')
    assert err is not None
    with caplog.at_level(logging.ERROR):
        _, rec, err = admin_client(sio_client, url, {'token': 'boom'}, namespace='/ops')
    assert err is not None
    assert rec.of('connect_error') == [({'message': 'invalid credentials'},)]
    assert 'Admin UI auth callable' in caplog.text
    _, rec, err = admin_client(sio_client, url, None, namespace='/ops')
    assert err is not None
    assert asked == [{'token': 'ok'}, {'token': 'no'}, {'token': 'boom'}, None]
    assert threading.main_thread().name not in threads

    # auth=False: no login; read-only and production shape config.
    _, url = sync_server(lambda sio: sio.instrument(auth=False, read_only=True,
                                                     mode='production'))
    _, rec, err = admin_client(sio_client, url, None)
    assert err is None
    (config,) = rec.wait('config')
    assert config == {'supportedFeatures': ['AGGREGATED_EVENTS']}
    rec.wait('server_stats', timeout=5)
    assert rec.of('all_sockets') == [] and rec.of('session') == []


def test_instrument_after_listen_refusals_and_stats_interval(sync_server, sio_client):
    sio, url = sync_server()
    with pytest.raises(ValueError, match='auth must be specified'):
        sio.instrument()
    for interval in (0, -1, 'x', float('nan'), True):
        with pytest.raises(ValueError, match='server_stats_interval'):
            sio.instrument(auth=False, server_stats_interval=interval)
    with pytest.raises(TypeError, match='auth must be'):
        sio.instrument(auth=42)
    sio.instrument(auth=dict(CREDENTIALS), server_stats_interval=0.2)
    _, rec, err = admin_client(sio_client, url, dict(CREDENTIALS))
    assert err is None
    rec.wait('config')
    # Every 0.2 s rather than python-socketio's default 2 s.
    assert wait_for(lambda: len(rec.of('server_stats')) >= 4, 2.0), rec.of('server_stats')


def test_async_server_with_a_coroutine_check():
    async def main():
        loop = asyncio.get_running_loop()
        on_loop = []

        async def check(client_auth):
            on_loop.append(asyncio.get_running_loop() is loop)
            await asyncio.sleep(0)
            return client_auth == CREDENTIALS

        sio = socketio_rs.AsyncServer()
        gone = []

        @sio.event
        async def disconnect(sid, reason):
            gone.append((sid, reason))

        sio.instrument(auth=check, server_id='async-1')
        host, port = await sio.listen('127.0.0.1', 0)
        url = f'http://{host}:{port}'
        user = socketio.AsyncClient()
        admin = socketio.AsyncClient()
        bad = socketio.AsyncClient()
        received = {}
        admin.on('*', lambda event, *args: received.setdefault(event, args), namespace='/admin')
        try:
            await user.connect(url, transports=['websocket'])
            with pytest.raises(socketio.exceptions.ConnectionError):
                await bad.connect(url, namespaces=['/admin'], auth={'username': 'x'},
                                  wait_timeout=5)
            await admin.connect(url, namespaces=['/admin'], auth=dict(CREDENTIALS),
                                transports=['websocket'], wait_timeout=5)
            for _ in range(600):
                if 'server_stats' in received and 'all_sockets' in received:
                    break
                await asyncio.sleep(0.01)
            assert received['server_stats'][0]['serverId'] == 'async-1'
            ids = {s['id'] for s in received['all_sockets'][0]}
            assert user.get_sid('/') in ids
            assert on_loop == [True, True]
            await admin.emit('_disconnect', ('/', True, user.get_sid('/')), namespace='/admin')
            for _ in range(500):
                if gone:
                    break
                await asyncio.sleep(0.01)
            assert gone and gone[0][1] == sio.reason.SERVER_DISCONNECT
        finally:
            for c in (user, admin, bad):
                await c.disconnect()
            await sio.shutdown()

    asyncio.run(asyncio.wait_for(main(), 30))
