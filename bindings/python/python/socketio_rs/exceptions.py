"""Exceptions, named as python-socketio's."""


class SocketIOError(Exception):
    """Base class of this package's errors."""


class ConnectionError(SocketIOError):  # noqa: A001 - python-socketio's name
    """A connection could not be made, or was lost."""


class ConnectionRefusedError(ConnectionError):  # noqa: A001
    """Raise from a ``connect`` handler to refuse the connection.

    The first argument is the message the client gets; a second one is sent
    as ``data``; more are sent as a list.
    """

    def __init__(self, *args):
        super().__init__(*args)
        if len(args) == 0:
            self.error_args = {'message': 'Connection rejected by server'}
        elif len(args) == 1:
            self.error_args = {'message': str(args[0])}
        else:
            self.error_args = {'message': str(args[0])}
            if len(args) == 2:
                self.error_args['data'] = args[1]
            else:
                self.error_args['data'] = list(args[1:])


class TimeoutError(SocketIOError):  # noqa: A001
    """No acknowledgement came in time."""


class BadNamespaceError(SocketIOError):
    """The namespace is not connected."""


class DisconnectedError(SocketIOError):
    """The connection ended."""
