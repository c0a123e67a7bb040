# The chat server of python-socketio's documentation (AsyncServer + ASGIApp,
# served by `uvicorn chat_asgi:app`), unchanged but for the import.
import socketio_rs as socketio

sio = socketio.AsyncServer(async_mode='asgi')
app = socketio.ASGIApp(sio)


@sio.event
async def connect(sid, environ, auth):
    username = (auth or {}).get('username')
    if not username:
        raise socketio.exceptions.ConnectionRefusedError('authentication failed')
    await sio.save_session(sid, {'username': username})
    await sio.emit('user_joined', username, skip_sid=sid)


@sio.event
async def chat_message(sid, data):
    session = await sio.get_session(sid)
    await sio.emit('chat_message', {'from': session['username'], 'text': data},
                   skip_sid=sid)


@sio.event
async def disconnect(sid, reason):
    session = await sio.get_session(sid)
    await sio.emit('user_left', session.get('username'))
