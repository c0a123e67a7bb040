"""``static_files`` of ``WSGIApp`` and ``ASGIApp``, as python-engineio reads
them: a dict of URL path to a file name or ``{'filename': ...,
'content_type': ...}``; a path ending in ``/`` maps a directory (its
``index.html``, or the ``''`` entry's file, for the directory itself)."""

import os

CONTENT_TYPES = {
    'css': 'text/css',
    'gif': 'image/gif',
    'html': 'text/html',
    'jpg': 'image/jpeg',
    'js': 'application/javascript',
    'json': 'application/json',
    'png': 'image/png',
    'txt': 'text/plain',
}


def get_static_file(path, static_files):
    """``{'filename': ..., 'content_type': ...}`` for the URL ``path``, or
    None when no entry maps it (or it climbs out with ``..``)."""
    if not static_files or '..' in path.split('/'):
        return None
    extra_path = ''
    if path in static_files:
        f = static_files[path]
    else:
        f = None
        while path != '':
            path, last = path.rsplit('/', 1)
            extra_path = '/' + last + extra_path
            if path in static_files:
                f = static_files[path]
                break
            if path + '/' in static_files:
                f = static_files[path + '/']
                break
    if not f:
        return None
    f = {'filename': f} if isinstance(f, str) else dict(f)
    if f['filename'].endswith('/') and extra_path.startswith('/'):
        extra_path = extra_path[1:]
    f['filename'] += extra_path
    if f['filename'].endswith('/'):
        index = static_files.get('')
        if index is None:
            f['filename'] += 'index.html'
        elif isinstance(index, str):
            f['filename'] += index
        else:
            f['filename'] += index['filename']
            if 'content_type' in index:
                f['content_type'] = index['content_type']
    if 'content_type' not in f:
        ext = f['filename'].rsplit('.')[-1]
        f['content_type'] = CONTENT_TYPES.get(ext, 'application/octet-stream')
    return f


def read_static_file(path, static_files):
    """``(content_type, data)`` of the file ``path`` maps to, or None when
    it maps none or the file does not exist."""
    f = get_static_file(path, static_files)
    if f is None or not os.path.isfile(f['filename']):
        return None
    with open(f['filename'], 'rb') as fh:
        return f['content_type'], fh.read()
