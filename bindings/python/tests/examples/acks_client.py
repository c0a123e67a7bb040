# The client examples of python-socketio's documentation (events,
# acknowledgements with a callback and with call(), disconnection),
# unchanged but for the import.
import sys

import socketio_rs as socketio

sio = socketio.Client()
results = []


@sio.event
def connect():
    print('connection established')


@sio.event
def auth(data):
    results.append(('auth', data))


def on_ack(*args):
    results.append(('callback', list(args)))
    sio.disconnect()


@sio.event
def disconnect():
    print('disconnected from server')


sio.connect(sys.argv[1], auth={'user': 'example'})
results.append(('call', sio.call('ack', {'question': 42}, timeout=5)))
sio.emit('ack', 'bye', callback=on_ack)
sio.wait()
print(results)
