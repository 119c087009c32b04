"""The native profile: msgpack values (``codec``), the message layout (``encode``)
and the packet format that reads it back (``format``)."""
