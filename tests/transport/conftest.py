"""The ``peers`` fixture of the transport tests (helpers: peers.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.transport.peers import Peers


@pytest.fixture
async def peers() -> AsyncIterator[Peers]:
    """Every peer a test makes, closed (and waited for) at the end."""
    made: Peers = []
    yield made
    for peer in made:
        peer.close()
    for peer in made:
        await asyncio.wait_for(peer.wait_closed(), 5)
