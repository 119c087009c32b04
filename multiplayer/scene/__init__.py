"""The scene: ``Node``, ``SceneTree``, the ``@rpc`` decorator, and the abstract
``MultiplayerAPI`` through which nodes reach the network."""
