"""The ``"godot"`` profile: Godot 4's own SceneMultiplayer packets and variant encoding."""
