"""How packets are framed in WebSocket messages, one module per profile."""
