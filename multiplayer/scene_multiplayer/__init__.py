"""``SceneMultiplayer`` and its parts, cut where Godot's modules/multiplayer cuts them:
the path cache (``cache``), RPCs (``rpc_interface``), authentication (``auth``), the
relay (``relay``), peers joining and leaving (``membership``), one record per peer
(``session``), and the books each record keeps (``limits``, ``latency``, ``calls``)."""
