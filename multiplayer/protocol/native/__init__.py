"""The native profile: msgpack values (``codec``) and the message layout."""
