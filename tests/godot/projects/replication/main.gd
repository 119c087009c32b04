extends Node
## A Godot peer for tests/godot/test_replication.py, printing one "TEST: ..." line per
## thing it sees.
##
## As a client (--port=N) it joins a Python server and reports the players that server
## spawns, moves and despawns. As a server (--server, through the harness's tunnel)
## it spawns one player at (3, 4) with score 5 when the first client joins; the
## client's `move` RPC moves it, and it greets the client with `hello`.

const TunnelPeer = preload("res://webgodot/tunnel_peer.gd")
const PlayerScene = preload("res://player.tscn")

var mp: SceneMultiplayer


func say(text: String) -> void:
	print("TEST: " + text)


func _ready() -> void:
	var port := 0
	var serving := false
	for arg in OS.get_cmdline_user_args():
		if arg.begins_with("--port="):
			port = arg.substr(7).to_int()
		elif arg == "--server":
			serving = true
	mp = multiplayer as SceneMultiplayer
	mp.connected_to_server.connect(func(): say("connected %d" % mp.get_unique_id()))
	mp.peer_connected.connect(func(id): say("peer_connected %d" % id))
	$Spawner.spawned.connect(func(node): say("spawned %s" % node.name))
	$Spawner.despawned.connect(func(node): say("despawned %s" % node.name))
	if serving:
		var tunnel := TunnelPeer.new()
		tunnel.open(TunnelPeer.url_from_args())
		mp.multiplayer_peer = tunnel
		mp.peer_connected.connect(_on_client)
		say("serving")
		return
	var peer := WebSocketMultiplayerPeer.new()
	peer.create_client("ws://127.0.0.1:%d" % port)
	mp.multiplayer_peer = peer


func _on_client(id: int) -> void:
	if $Players.get_child_count() == 0:
		var player := PlayerScene.instantiate()
		player.position = Vector2(3, 4)
		player.score = 5
		$Players.add_child(player, true)
		say("spawned_here %s" % player.name)
	hello.rpc_id(id, "welcome %d" % id)


@rpc("any_peer")
func move(x: int, y: int, new_score: int) -> void:
	var player := $Players.get_child(0) as Node2D
	player.position = Vector2(x, y)
	player.score = new_score
	say("moved_by %d %d %d %d" % [mp.get_remote_sender_id(), x, y, new_score])


@rpc
func hello(text: String) -> void:
	say("hello " + text)
