"""``SceneMultiplayer`` and its parts: the path cache, RPCs, authentication, the
relay, limits and latency, cut where Godot's modules/multiplayer cuts them."""
