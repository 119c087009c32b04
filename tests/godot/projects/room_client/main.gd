extends Node
## A Godot client of a Python room server, for tests/godot/test_rooms.py. It joins the
## room its URL asks for (--url=ws://127.0.0.1:N/join_or_create/duel: a room server
## needs nothing else from a Godot game), or reads the listing of public rooms
## (--list=ws://127.0.0.1:N/list), and prints one "TEST: ..." line per thing it sees.
##
## A refused join ends with connection_failed; why is the close code and reason of
## the WebSocketPeer under the multiplayer peer (4100 no such room, 4101 full, ...),
## which a game reads as here: keep get_peer(1) from create_client on.

var mp: SceneMultiplayer
var link: WebSocketPeer
var listing: WebSocketPeer


func say(text: String) -> void:
	print("TEST: " + text)


func _ready() -> void:
	var url := ""
	for arg in OS.get_cmdline_user_args():
		if arg.begins_with("--url="):
			url = arg.substr(6)
		elif arg.begins_with("--list="):
			listing = WebSocketPeer.new()
			listing.connect_to_url(arg.substr(7))
	if url == "":
		return
	mp = multiplayer as SceneMultiplayer
	mp.connected_to_server.connect(func(): say("connected %d" % mp.get_unique_id()))
	mp.connection_failed.connect(_on_connection_failed)
	mp.server_disconnected.connect(_on_server_disconnected)
	mp.peer_connected.connect(func(id): say("peer_connected %d" % id))
	mp.peer_disconnected.connect(func(id): say("peer_disconnected %d" % id))
	var peer := WebSocketMultiplayerPeer.new()
	var err := peer.create_client(url)
	if err != OK:
		say("create_client failed %d" % err)
		return
	link = peer.get_peer(1)
	mp.multiplayer_peer = peer


func _on_connection_failed() -> void:
	if link == null:
		say("connection_failed")
		return
	say("refused %d %s" % [link.get_close_code(), link.get_close_reason()])


func _on_server_disconnected() -> void:
	var code := link.get_close_code() if link != null else -1
	say("server_disconnected %d" % code)


func _process(_delta: float) -> void:
	if listing == null:
		return
	listing.poll()
	while listing.get_available_packet_count() > 0:
		var data = JSON.parse_string(listing.get_packet().get_string_from_utf8())
		var rooms: Array = data["rooms"]
		var shown: PackedStringArray = []
		for room in rooms:
			shown.append("%s %s %d/%d" % [room["code"], room["type"], room["clients"], room["max_clients"]])
		say("listing " + ", ".join(shown))


# The room's node, /root/Main on both sides: the same RPC names, so ids agree.

@rpc("authority", "call_remote", "reliable")
func welcome(code: String) -> void:
	say("welcome %s" % code)
	hello.rpc_id(1, "hi from %d" % mp.get_unique_id())


@rpc("any_peer", "call_remote", "reliable")
func hello(_text: String) -> void:
	pass


@rpc("authority", "call_local", "reliable")
func announce(text: String) -> void:
	say("announce " + text)
