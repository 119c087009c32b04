"""Replication, as Godot's SceneReplicationInterface: spawners, synchronizers,
their configuration, and the replicator that sends and applies their state.

* :mod:`.spawner`, :mod:`.synchronizer`, :mod:`.config`: the nodes and the
  configuration users build (MultiplayerSpawner, MultiplayerSynchronizer,
  SceneReplicationConfig);
* :mod:`.replicator`: SceneReplicator, what the multiplayer API calls, made of
  :mod:`.spawning` (spawns, despawns, late joiners), :mod:`.sync_sender` and
  :mod:`.sync_receiver` (SYNC packets out and in), :mod:`.visibility` and
  :mod:`.baselines` (what each peer has of each synchronizer's state);
* :mod:`.host`: the ReplicationHost interface, all replication sees of the API.
"""
