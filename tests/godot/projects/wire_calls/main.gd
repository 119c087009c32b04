extends Node
## Makes the reference calls of bench/run.py's wire_bytes, so that tests/godot/test_wire.py
## can compare Godot's bytes with the godot profile's. A first call announces the path;
## the server answers `go` once it confirmed it, and the reference calls follow, by id.
## `extra` is an RPC by rpc_config, so the path's checksum covers node-level names too.


func _ready() -> void:
	var port := 0
	for arg in OS.get_cmdline_user_args():
		if arg.begins_with("--port="):
			port = arg.substr(7).to_int()
	rpc_config("extra", {"rpc_mode": MultiplayerAPI.RPC_MODE_ANY_PEER})
	multiplayer.connected_to_server.connect(func() -> void: one.rpc_id(1, 0))
	var peer := WebSocketMultiplayerPeer.new()
	peer.create_client("ws://127.0.0.1:%d" % port)
	multiplayer.multiplayer_peer = peer


@rpc("authority")
func go() -> void:
	none.rpc_id(1)
	one.rpc_id(1, 5)
	one.rpc_id(1, Vector2(1.5, 2.0))
	one.rpc_id(1, "abcdefghij")
	one.rpc_id(1, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
	one.rpc_id(1, PackedByteArray([1, 2, 3]))
	one.rpc_id(1, 0.1)
	print("TEST: sent")


@rpc("any_peer")
func none() -> void:
	pass


func extra() -> void:
	pass


@rpc("any_peer")
func one(_value: Variant) -> void:
	pass
