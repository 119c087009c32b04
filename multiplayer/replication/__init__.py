"""Replication, as Godot's SceneReplicationInterface: spawners, synchronizers,
their configuration, and the replicator that sends and applies their state."""
