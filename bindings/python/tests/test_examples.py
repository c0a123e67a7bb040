"""python-socketio's documented examples, run unchanged but for
``import socketio_rs as socketio`` (tests/examples/)."""

import os
import pathlib
import socket
import subprocess
import sys
import threading
import time

import socketio

from conftest import wait_for

EXAMPLES = pathlib.Path(__file__).parent / 'examples'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def spawn(args, **kwargs):
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    return subprocess.Popen([sys.executable, *args], cwd=EXAMPLES, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            **kwargs)


def stop(proc):
    proc.terminate()
    try:
        return proc.communicate(timeout=10)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[0]


def test_chat_under_uvicorn():
    port = free_port()
    proc = spawn(['-m', 'uvicorn', 'chat_asgi:app', '--host', '127.0.0.1', '--port', str(port),
                  '--log-level', 'warning', '--timeout-graceful-shutdown', '1'])
    url = f'http://127.0.0.1:{port}'
    try:
        def up():
            try:
                socket.create_connection(('127.0.0.1', port), timeout=0.2).close()
                return True
            except OSError:
                return False

        assert wait_for(up, timeout=20), stop(proc)
        anon = socketio.Client(reconnection=False)
        try:
            anon.connect(url)
            raise AssertionError('connected without a username')
        except socketio.exceptions.ConnectionError:
            pass
        alice, bob = socketio.Client(), socketio.Client()
        seen = {'alice': [], 'bob': []}
        alice.on('user_joined', lambda u: seen['alice'].append(('joined', u)))
        alice.on('user_left', lambda u: seen['alice'].append(('left', u)))
        bob.on('chat_message', lambda m: seen['bob'].append(m))
        alice.connect(url, auth={'username': 'alice'})
        bob.connect(url, auth={'username': 'bob'})
        assert wait_for(lambda: ('joined', 'bob') in seen['alice'])
        alice.emit('chat_message', 'hi bob')
        assert wait_for(lambda: seen['bob'] == [{'from': 'alice', 'text': 'hi bob'}])
        bob.disconnect()
        assert wait_for(lambda: ('left', 'bob') in seen['alice'], timeout=10)
        alice.disconnect()
    finally:
        stop(proc)


def test_rooms_and_background_task():
    proc = spawn(['rooms_server.py', '0'])
    lines = []
    try:
        port = int(proc.stdout.readline())
        # Read the server's output as it comes; the thread ends with the pipe.
        threading.Thread(target=lambda: [lines.append(line) for line in proc.stdout],
                         daemon=True).start()
        c = socketio.Client(reconnection=False)
        got = []
        c.on('my_response', got.append)
        c.connect(f'http://127.0.0.1:{port}')
        assert wait_for(lambda: {'data': 'Connected', 'count': 0} in got)
        c.emit('join', {'room': 'lobby'})
        c.emit('my_room_event', {'room': 'lobby', 'data': 'to the lobby'})
        c.emit('my_event', {'data': 'just me'})
        c.emit('leave', {'room': 'lobby'})
        c.emit('my_room_event', {'room': 'lobby', 'data': 'not for me'})
        assert wait_for(lambda: {'data': 'Left room: lobby'} in got)
        assert wait_for(lambda: any(m.get('count', 0) >= 2 for m in got), timeout=10)
        datas = [m['data'] for m in got]
        assert 'Entered room: lobby' in datas and 'to the lobby' in datas
        assert 'just me' in datas and 'not for me' not in datas
        gone = []
        c.on('disconnect', lambda *a: gone.append(a))
        c.emit('disconnect_request')
        assert wait_for(lambda: gone)
        # The client learns of the disconnection before the server's handler
        # has printed it: wait for the line, not for the client.
        said = 'Client disconnected, reason: server disconnect\n'
        assert wait_for(lambda: said in lines, timeout=10), lines
    finally:
        # Not stop(): the reading thread owns the pipe.
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_acks_client(node_server):
    peer = node_server()
    proc = spawn(['acks_client.py', peer.url])
    try:
        out = proc.communicate(timeout=30)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert 'connection established' in out and 'disconnected from server' in out
    assert "('call', {'question': 42})" in out
    assert "('callback', ['bye'])" in out
    assert "('auth', {'user': 'example'})" in out
