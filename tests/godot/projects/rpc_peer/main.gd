extends Node
## A Godot peer for tests/godot/test_rpc.py; everything it sees is printed as one
## "TEST: ..." line, which the test reads from the browser console.
##
## As a client of a Python server (--port=N, --token=TEXT: sent as auth data; none:
## no auth_callback) it is driven by the server's `command` RPCs. As a server of
## Python clients (--server, through the harness's tunnel) it greets each client with
## every type, checks what the client sends back, and announces the result to all.

const TunnelPeer = preload("res://webgodot/tunnel_peer.gd")

var port := 0
var token := ""
var serving := false
var mp: SceneMultiplayer


func say(text: String) -> void:
	print("TEST: " + text)


func _ready() -> void:
	for arg in OS.get_cmdline_user_args():
		if arg.begins_with("--port="):
			port = arg.substr(7).to_int()
		elif arg.begins_with("--token="):
			token = arg.substr(8)
		elif arg == "--server":
			serving = true
	mp = multiplayer as SceneMultiplayer
	if token != "":
		mp.auth_callback = _on_auth
		mp.peer_authenticating.connect(_on_authenticating)
		mp.peer_authentication_failed.connect(func(id): say("authentication_failed %d" % id))
	mp.connected_to_server.connect(func(): say("connected %d" % mp.get_unique_id()))
	mp.connection_failed.connect(func(): say("connection_failed"))
	mp.server_disconnected.connect(func(): say("server_disconnected"))
	mp.peer_connected.connect(func(id): say("peer_connected %d" % id))
	mp.peer_disconnected.connect(func(id): say("peer_disconnected %d" % id))
	mp.peer_packet.connect(func(id, data): say("peer_packet %d %s" % [id, data.get_string_from_utf8()]))
	if serving:
		var tunnel := TunnelPeer.new()
		tunnel.open(TunnelPeer.url_from_args())
		mp.multiplayer_peer = tunnel
		mp.peer_connected.connect(_greet)
		say("serving %d" % mp.get_unique_id())
		return
	var peer := WebSocketMultiplayerPeer.new()
	var err := peer.create_client("ws://127.0.0.1:%d" % port)
	if err != OK:
		say("create_client failed %d" % err)
	mp.multiplayer_peer = peer


func _on_authenticating(id: int) -> void:
	mp.send_auth(id, token.to_utf8_buffer())


func _on_auth(id: int, data: PackedByteArray) -> void:
	say("auth_data %d %s" % [id, data.get_string_from_utf8()])
	mp.complete_auth(id)


# The values of every type the Python library maps, as Godot makes them. The
# server's test expects exactly these, and sends them back as Python makes them.
static func sample_values() -> Array:
	var typed: Array[int] = [7, 8]
	return [
		null, true, false, 0, -1, 127, 128, -32768, 65536, -5000000000, 1.5, 0.1, -0.0,
		"héllo ✓", &"a_name", NodePath("Board/Cell:position"),
		Vector2(1.5, -2.25), Vector2i(3, -4), Vector3(0.5, 1, -2), Vector3i(1, 2, 3),
		Vector4(1, 2, 3, 4.5), Vector4i(-1, 0, 1, 2), Rect2(1, 2, 3.5, 4), Rect2i(1, 2, 3, 4),
		Color(0.25, 0.5, 0.75, 1), Quaternion(0, 0.5, 0, 0.5),
		[1, "two", [3.5, null]], {"a": 1, 2: "b", "nested": {"x": [true]}}, typed,
		PackedByteArray([0, 1, 255]), PackedInt32Array([1, -2, 2147483647]),
		PackedInt64Array([5000000000, -1]), PackedFloat32Array([0.5, -1.25]),
		PackedFloat64Array([0.1, 2.5]), PackedStringArray(["x", "yz"]),
		PackedVector2Array([Vector2(1, 2)]), PackedVector3Array([Vector3(1, 2, 3)]),
		PackedColorArray([Color(1, 0, 0, 0.5)]), PackedVector4Array([Vector4(1, 2, 3, 4)]),
	]


# The RPCs: the same names on the Python side, so that ids and checksums agree.

@rpc("authority")
func command(step: String, arg: Variant) -> void:
	match step:
		"send_types":
			var values := sample_values()
			types_to_server.rpc_id(1, true, -100000, 0.5, "text", values)
		"server_only":
			server_only.rpc_id(1)
		"send_bytes":
			mp.send_bytes(("raw from %d" % mp.get_unique_id()).to_utf8_buffer(), 1)
		"message_peer":
			peer_msg.rpc_id(int(arg), "hello from %d" % mp.get_unique_id())
		"leave":
			mp.multiplayer_peer.close()
			say("left")
		_:
			say("unknown command " + step)


# The server greets a new client with every type (the client checks them).
func _greet(id: int) -> void:
	types_to_client.rpc_id(id, false, 123456789012, 2.75, "from godot", sample_values())


@rpc("any_peer")
func types_to_server(b: bool, i: int, f: float, s: String, values: Array) -> void:
	var wrong := check_types(values)
	if not (b == true and i == -100000 and f == 0.5 and s == "text"):
		wrong.append("scalars %s %s %s %s" % [b, i, f, s])
	var from := mp.get_remote_sender_id()
	say("types from %d %s" % [from, "ok" if wrong.is_empty() else "WRONG " + "; ".join(wrong)])
	if serving:
		announce.rpc("types checked for %d" % from)


@rpc("authority")
func types_to_client(b: bool, i: int, f: float, s: String, values: Array) -> void:
	var wrong := check_types(values)
	if not (b == false and i == 123456789012 and f == 2.75 and s == "from python"):
		wrong.append("scalars %s %s %s %s" % [b, i, f, s])
	say("types %s" % ("ok" if wrong.is_empty() else "WRONG " + "; ".join(wrong)))


# What differs between `values` (as Python sent them) and sample_values().
static func check_types(values: Array) -> Array:
	var expected := sample_values()
	var wrong := []
	if values.size() != expected.size():
		return ["size %d" % values.size()]
	for k in expected.size():
		var want: Variant = python_form(expected[k])
		if typeof(values[k]) != typeof(want) or values[k] != want:
			wrong.append("%d: got %s %s, want %s %s" % [k, type_string(typeof(values[k])), values[k], type_string(typeof(want)), want])
	return wrong


# What a value becomes on its way through Python and back: StringName and NodePath
# arrive as str and go back as String; packed arrays of strings, vectors and colours
# arrive as lists and go back as Arrays; typed Arrays go back untyped.
static func python_form(value: Variant) -> Variant:
	match typeof(value):
		TYPE_STRING_NAME, TYPE_NODE_PATH:
			return str(value)
		TYPE_PACKED_STRING_ARRAY, TYPE_PACKED_VECTOR2_ARRAY, TYPE_PACKED_VECTOR3_ARRAY, TYPE_PACKED_COLOR_ARRAY, TYPE_PACKED_VECTOR4_ARRAY:
			return Array(value)
		TYPE_ARRAY:
			var items := []
			for item in value:
				items.append(python_form(item))
			return items
		TYPE_DICTIONARY:
			var copy := {}
			for key in value:
				copy[python_form(key)] = python_form(value[key])
			return copy
	return value


@rpc("authority", "call_local")
func announce(text: String) -> void:
	say("announce from %d: %s" % [mp.get_remote_sender_id(), text])


@rpc("any_peer")
func peer_msg(text: String) -> void:
	say("peer_msg from %d: %s" % [mp.get_remote_sender_id(), text])


@rpc("authority")
func server_only() -> void:
	say("server_only ran (unexpected)")


@rpc("any_peer")
func report(_step: String, _result: Variant) -> void:
	pass
