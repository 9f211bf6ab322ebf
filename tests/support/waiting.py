"""Bolt runs listeners after the ack, on its own threads: tests wait for the effect."""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(read: Callable[[], T], expected: T, timeout: float = 15.0) -> T:
    """Poll ``read()`` until it equals ``expected``; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    value = read()
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.02)
        value = read()
    assert value == expected
    return value


def settle(read: Callable[[], T], quiet: float = 0.5, timeout: float = 15.0) -> T:
    """Poll ``read()`` until it stops changing for ``quiet`` seconds (for "nothing more happens")."""
    deadline = time.monotonic() + timeout
    value, since = read(), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.02)
        new = read()
        if new != value:
            value, since = new, time.monotonic()
    return value
