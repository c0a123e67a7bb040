"""Python objects to Socket.IO values and back."""

import math

import pytest

from socketio_rs import _native


@pytest.mark.parametrize('value', [
    None, True, False, 0, -1, 2**63 - 1, 2**64 - 1, 1.5, 'text', 'ünï', b'', b'\x00\xff',
    [1, [2, [3]]], {'a': {'b': [None, b'x']}}, [],
])
def test_round_trip(value):
    assert _native.roundtrip(value) == value


def test_conversions():
    assert _native.roundtrip((1, 2)) == [1, 2]
    assert _native.roundtrip(bytearray(b'ab')) == b'ab'
    assert _native.roundtrip(memoryview(b'cd')) == b'cd'
    assert _native.roundtrip({1: 'a', None: 'b', False: 'c'}) == {'1': 'a', 'null': 'b', 'false': 'c'}
    assert _native.roundtrip(float('nan')) is None
    assert _native.roundtrip(2**70) == float(2**70)
    assert isinstance(_native.roundtrip(True), bool)
    assert math.isclose(_native.roundtrip(0.1), 0.1)


def test_refusals():
    with pytest.raises(TypeError):
        _native.roundtrip(object())
    with pytest.raises(TypeError):
        _native.roundtrip({(1, 2): 'tuple key'})
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError):
        _native.roundtrip(loop)
