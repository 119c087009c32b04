"""Fixtures of the fault scenarios: a server, clients connected through a FaultProxy,
and a record of what each side saw (helpers: pair.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from multiplayer.testing import FaultProxy
from tests.faults.pair import Pair, start_pair


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    """A server and one client linked through a FaultProxy, both CONNECTED, with
    short keepalives and a 5 s grace."""
    made = await start_pair()
    yield made
    await made.close()


@pytest.fixture
async def proxy_for() -> AsyncIterator[list[FaultProxy]]:
    """Proxies a test starts itself, closed at the end."""
    proxies: list[FaultProxy] = []
    yield proxies
    for proxy in proxies:
        await asyncio.wait_for(proxy.close(), 5)
