"""Tools for testing what is built on this library.

* :mod:`.memory`: a server and clients wired in memory (:class:`MemoryNetwork`), to
  test the layers above the transport without sockets, synchronously, with a
  latency counted in polls if wanted;
* :mod:`.faults`: :class:`FaultProxy`, a TCP proxy on 127.0.0.1 that cuts, stalls,
  delays or breaks real connections on command, to test a game under the faults of
  real networks.
"""

from .faults import FaultProxy
from .memory import MemoryMultiplayerPeer, MemoryNetwork

__all__ = ["FaultProxy", "MemoryMultiplayerPeer", "MemoryNetwork"]
