"""``socketio_rs.AsyncServer`` (handlers on the asyncio loop) with
python-socketio's ``AsyncClient`` as the peer."""

import asyncio
import logging

import pytest
import socketio

import socketio_rs


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


async def started(setup=None, **kwargs):
    sio = socketio_rs.AsyncServer(**kwargs)
    if setup is not None:
        setup(sio)
    host, port = await sio.listen('127.0.0.1', 0)
    return sio, f'http://{host}:{port}'


async def eventually(pred, timeout=5.0):
    for _ in range(int(timeout / 0.01)):
        if pred():
            return True
        await asyncio.sleep(0.01)
    return pred()


def test_async_handlers_acks_rooms_sessions():
    async def main():
        loop = asyncio.get_running_loop()
        where = []

        def setup(sio):
            @sio.event
            async def connect(sid, environ, auth):
                where.append(asyncio.get_running_loop() is loop)
                await sio.save_session(sid, {'auth': auth})
                await sio.enter_room(sid, 'room')

            @sio.event
            async def echo(sid, *args):
                await asyncio.sleep(0)
                return args

            @sio.event
            def plain(sid, data):  # a plain function works too
                return data * 2

            @sio.event
            async def whoami(sid):
                async with sio.session(sid) as s:
                    s['seen'] = True
                return await sio.get_session(sid)

            @sio.on('*')
            async def other(event, sid, data):
                await sio.emit('caught', (event, data), to=sid)
                return data + 1

        sio, url = await started(setup)
        c = socketio.AsyncClient()
        caught, news = [], []
        c.on('caught', lambda e, d: caught.append((e, d)))
        c.on('news', news.append)
        c.on('question', lambda q: q + '?')
        await c.connect(url, auth={'user': 'bo'})
        assert await c.call('echo', (1, b'\x02', 'x')) == (1, b'\x02', 'x')
        assert await c.call('plain', 21) == 42
        assert await c.call('whoami') == {'auth': {'user': 'bo'}, 'seen': True}
        await c.emit('unknown', 5)
        assert await eventually(lambda: caught == [('unknown', 5)])
        assert await c.call('unknown', 6) == 7
        sid = c.get_sid('/')
        assert 'room' in sio.rooms(sid)
        await sio.emit('news', 'to-room', room='room')
        await sio.emit('news', 'skipped', room='room', skip_sid=sid)
        assert await eventually(lambda: news == ['to-room'])
        assert await sio.call('question', 'why', to=sid) == 'why?'
        answers = []

        async def on_answer(a):
            answers.append(a)

        await sio.emit('question', 'cb', to=sid, callback=on_answer)
        assert await eventually(lambda: answers == ['cb?'])
        await sio.leave_room(sid, 'room')
        assert 'room' not in sio.rooms(sid)
        await sio.enter_room(sid, 'room2')
        await sio.close_room('room2')
        assert 'room2' not in sio.rooms(sid)
        assert where == [True]
        await c.disconnect()
        await sio.shutdown()

    run(main())


def test_async_refusal_disconnect_and_errors(caplog):
    async def main():
        reasons = []

        def setup(sio):
            @sio.event
            async def connect(sid, environ, auth):
                if auth and auth.get('deny'):
                    raise socketio_rs.exceptions.ConnectionRefusedError('denied', 1, 2)

            @sio.event
            async def disconnect(sid, reason):
                reasons.append(reason)

            @sio.event
            async def kick(sid):
                await sio.disconnect(sid)

            @sio.event
            async def boom(sid):
                raise ValueError('async handler bug')

        sio, url = await started(setup)
        bad = socketio.AsyncClient(reconnection=False)
        errors = []
        bad.on('connect_error', errors.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await bad.connect(url, auth={'deny': True})
        assert errors == [{'message': 'denied', 'data': [1, 2]}]

        c = socketio.AsyncClient(reconnection=False)
        await c.connect(url)
        await c.emit('boom')
        await c.emit('kick')
        assert await eventually(lambda: reasons == ['server disconnect'])
        assert await eventually(lambda: 'async handler bug' in caplog.text)

        c2 = socketio.AsyncClient()

        async def slow():
            await asyncio.sleep(1)

        c2.on('slow', slow)
        await c2.connect(url)
        sid = c2.get_sid('/')
        with pytest.raises(socketio_rs.exceptions.TimeoutError):
            await sio.call('slow', to=sid, timeout=0.2)
        await c2.disconnect()
        await sio.shutdown()

    with caplog.at_level(logging.ERROR, logger='socketio_rs'):
        run(main())


def test_async_namespace_class_and_background_task():
    async def main():
        class Room(socketio_rs.AsyncNamespace):
            async def on_join(self, sid, room):
                await self.enter_room(sid, room)
                await self.emit('joined', room, room=room)
                return self.rooms(sid)

        sio, url = await started(lambda s: s.register_namespace(Room('/rooms')))
        c = socketio.AsyncClient()
        joined = []
        c.on('joined', joined.append, namespace='/rooms')
        await c.connect(url, namespaces=['/rooms'])
        rooms = await c.call('join', 'lobby', namespace='/rooms')
        assert 'lobby' in rooms
        assert await eventually(lambda: joined == ['lobby'])

        ticks = []
        c.on('tick', ticks.append, namespace='/rooms')

        async def ticker():
            for i in range(3):
                await sio.emit('tick', i, namespace='/rooms')
                await sio.sleep(0.01)

        task = sio.start_background_task(ticker)
        await task
        assert await eventually(lambda: ticks == [0, 1, 2])
        waiter = asyncio.ensure_future(sio.wait())
        await c.disconnect()
        await sio.shutdown()
        await asyncio.wait_for(waiter, 5)

    run(main())


def test_async_send_and_client_without_wait():
    async def main():
        def setup(sio):
            @sio.event
            async def message(sid, data):
                await sio.send('got ' + data, to=sid)

        sio, url = await started(setup)
        c = socketio_rs.AsyncClient()
        replies = []
        c.on('message', replies.append)
        await c.connect(url, wait=False)
        assert await eventually(lambda: c.connected)
        await c.send('x')
        assert await eventually(lambda: replies == ['got x'])
        assert c.transport() == 'websocket'
        await c.disconnect()
        await sio.shutdown()

    run(main())


def _native_threads(prefix):
    """Names of this process's threads starting with ``prefix`` (Linux)."""
    import os
    names = []
    for tid in os.listdir('/proc/self/task'):
        try:
            with open(f'/proc/self/task/{tid}/comm') as f:
                names.append(f.read().strip())
        except OSError:
            pass
    return [n for n in names if n.startswith(prefix)]


@pytest.mark.skipif(not __import__('os').path.isdir('/proc/self/task'), reason='Linux only')
def test_async_events_reach_the_loop_in_order_without_a_hand_over_thread():
    async def main():
        loop = asyncio.get_running_loop()
        seen, threads = [], set()

        def setup(sio):
            @sio.event
            async def n(sid, i):
                seen.append(i)
                threads.add(asyncio.get_running_loop() is loop)
                if i % 50 == 0:
                    await asyncio.sleep(0)  # some suspend, the rest finish at once
                return i

        sio, url = await started(setup)
        c = socketio.AsyncClient()
        await c.connect(url, transports=['websocket'])
        for i in range(500):
            await c.emit('n', i)
        assert await c.call('n', 500) == 500
        assert await eventually(lambda: len(seen) == 501)
        assert seen == list(range(501))
        assert threads == {True}
        # Events are run by the loop itself, woken through a pipe: no
        # native thread hands them over.
        assert _native_threads('socketio-asynci') == []
        await c.disconnect()
        await sio.shutdown()

    run(main())


def test_async_server_bound_to_its_loop_late_gets_the_queued_events():
    async def main():
        got = []
        sio = socketio_rs.AsyncServer()

        @sio.event
        async def hello(sid, data):
            got.append(data)

        # The native server exists (an emit made it) before any loop is bound.
        await sio.emit('nobody', 1)
        host, port = await sio.listen('127.0.0.1', 0)
        c = socketio.AsyncClient()
        await c.connect(f'http://{host}:{port}')
        await c.emit('hello', 'x')
        assert await eventually(lambda: got == ['x'])
        await c.disconnect()
        await sio.shutdown()

    run(main())


def test_async_handler_classes_which_need_no_task():
    from socketio_rs.async_server import never_suspends

    async def answers(sid, data):
        return data

    async def awaits(sid):
        await asyncio.sleep(0)

    async def loops(sid, it):
        async for x in it:
            return x

    async def times(sid, cm):
        async with cm:
            return 1

    async def comprehends(sid, it):
        return [x async for x in it]

    async def defines(sid):
        async def inner():
            await asyncio.sleep(0)
        return inner

    assert never_suspends(answers.__code__)
    assert never_suspends(defines.__code__)  # the await is the inner function's
    for f in (awaits, loops, times, comprehends):
        assert not never_suspends(f.__code__), f.__name__


def test_async_events_start_in_order_whether_or_not_their_handlers_suspend():
    import contextvars
    var = contextvars.ContextVar('var', default='unset')

    async def main():
        starts, tasks, values = [], [], []

        def setup(sio):
            @sio.event
            async def quick(sid, i):
                # Cannot suspend: run at once, in a context of its own.
                starts.append(i)
                values.append(var.get())
                var.set(i)
                return i

            @sio.event
            async def slow(sid, i):
                starts.append(i)
                tasks.append(asyncio.current_task() is not None)
                await asyncio.sleep(0)
                return i

            @sio.event
            def plain(sid, i):
                starts.append(i)
                return i

        sio, url = await started(setup)
        c = socketio.AsyncClient()
        await c.connect(url, transports=['websocket'])
        kinds = ['quick', 'slow', 'plain']
        n = 600
        for i in range(n):
            # An irregular mix, so bursts start with each kind.
            await c.emit(kinds[(i * 7 + i // 5) % 3], i)
        assert await c.call('quick', n) == n
        assert await eventually(lambda: len(starts) == n + 1)
        assert starts == list(range(n + 1))
        # A handler that suspends runs in a task (asyncio.timeout and
        # TaskGroup work in it); contexts are not shared between handlers.
        assert tasks and all(tasks)
        assert set(values) == {'unset'}
        await c.disconnect()
        await sio.shutdown()

    run(main())



def test_async_acks_of_handlers_run_at_once():
    import collections
    Pair = collections.namedtuple('Pair', 'a b')

    async def main():
        def setup(sio):
            @sio.event
            async def many(sid):
                return 1, 'two'  # a tuple: several arguments

            @sio.event
            async def pair(sid):
                return Pair(3, 4)  # a tuple too

            @sio.event
            async def listed(sid):
                return [5, 6]  # one argument

            @sio.event
            async def nothing(sid):
                return None  # no argument

            @sio.event
            def refused(sid):
                return {1j}  # not serializable: logged, no answer

        sio, url = await started(setup)
        c = socketio.AsyncClient()
        await c.connect(url, transports=['websocket'])
        assert await c.call('many') == (1, 'two')
        assert await c.call('pair') == (3, 4)
        assert await c.call('listed') == [5, 6]
        assert await c.call('nothing') is None
        with pytest.raises(socketio.exceptions.TimeoutError):
            await c.call('refused', timeout=0.5)
        assert await c.call('many') == (1, 'two')  # still serving
        await c.disconnect()
        await sio.shutdown()

    run(main())


def test_async_system_exit_in_a_handler_run_at_once_stops_the_loop():
    # As from a handler's task: SystemExit leaves the loop.
    async def main():
        def setup(sio):
            @sio.event
            def leave(sid):
                raise SystemExit(3)

        sio, url = await started(setup)
        c = socketio.AsyncClient()
        await c.connect(url, transports=['websocket'])
        await c.emit('leave')
        await asyncio.sleep(5)

    with pytest.raises(SystemExit) as info:
        asyncio.run(main())
    assert info.value.code == 3
