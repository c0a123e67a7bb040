# The rooms / background-task server of python-socketio's examples (the
# WSGI app's event handlers), unchanged but for the import and for serving
# with sio.listen() instead of a WSGI server.
import sys

import socketio_rs as socketio

sio = socketio.Server(logger=False, async_mode='threading')
thread = None


def background_thread():
    """Example of how to send server generated events to clients."""
    count = 0
    while True:
        sio.sleep(0.2)
        count += 1
        sio.emit('my_response', {'data': 'Server generated event', 'count': count})


@sio.event
def my_event(sid, message):
    sio.emit('my_response', {'data': message['data']}, room=sid)


@sio.event
def my_broadcast_event(sid, message):
    sio.emit('my_response', {'data': message['data']})


@sio.event
def join(sid, message):
    sio.enter_room(sid, message['room'])
    sio.emit('my_response', {'data': 'Entered room: ' + message['room']}, room=sid)


@sio.event
def leave(sid, message):
    sio.leave_room(sid, message['room'])
    sio.emit('my_response', {'data': 'Left room: ' + message['room']}, room=sid)


@sio.event
def close_room(sid, message):
    sio.emit('my_response', {'data': 'Room ' + message['room'] + ' is closing.'},
             room=message['room'])
    sio.close_room(message['room'])


@sio.event
def my_room_event(sid, message):
    sio.emit('my_response', {'data': message['data']}, room=message['room'])


@sio.event
def disconnect_request(sid):
    sio.disconnect(sid)


@sio.event
def connect(sid, environ):
    global thread
    if thread is None:
        thread = sio.start_background_task(background_thread)
    sio.emit('my_response', {'data': 'Connected', 'count': 0}, room=sid)


@sio.event
def disconnect(sid, reason):
    print('Client disconnected, reason:', reason)


if __name__ == '__main__':
    host, port = sio.listen('127.0.0.1', int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
    print(port, flush=True)
    sio.wait()
