"""The wire format of scene-multiplayer messages, sans-I/O: plain code over bytes.

``messages`` holds the typed messages and ``commands`` their numbers; ``format``
names the packet format of each wire profile (``native``: msgpack arrays, in
``native/``), which turns the messages and their values into bytes and back.
"""
