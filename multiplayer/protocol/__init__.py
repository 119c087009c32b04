"""The wire format of scene-multiplayer messages, sans-I/O: plain code over bytes.

``messages`` holds the typed messages; each profile (``native``: msgpack) turns them
and their values into bytes and back.
"""
