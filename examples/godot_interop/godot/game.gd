extends Control
## A Godot 4 player at the dice table of examples/websocket_multiplayer, served by
## Python (`main.py --host --protocol godot`). The node is /root/Game on both sides,
## and its RPCs have the Python Game's names and arguments: Godot numbers RPC methods
## by their sorted names, so both sides must list the same ones.
##
## User args (after `--` on Godot's command line): --url=ws://HOST:PORT (default
## ws://127.0.0.1:8080), --name=NAME, --bot (roll by itself when its turn comes).
## Everything the game says is also printed as "GAME: ...".

const BACKGROUND := Color(0.10, 0.12, 0.18)
const ROW := Color(0.22, 0.25, 0.32)
const TURN := Color(0.95, 0.75, 0.20)
const DIE := Color(0.96, 0.96, 0.93)
const PIP := Color(0.10, 0.10, 0.12)
const TEXT := Color(0.92, 0.94, 0.98)
const DIE_RECT := Rect2(600, 90, 180, 180)
const PIPS := {
	1: [Vector2(0.5, 0.5)],
	2: [Vector2(0.25, 0.25), Vector2(0.75, 0.75)],
	3: [Vector2(0.25, 0.25), Vector2(0.5, 0.5), Vector2(0.75, 0.75)],
	4: [Vector2(0.25, 0.25), Vector2(0.75, 0.25), Vector2(0.25, 0.75), Vector2(0.75, 0.75)],
	5: [Vector2(0.25, 0.25), Vector2(0.75, 0.25), Vector2(0.5, 0.5), Vector2(0.25, 0.75), Vector2(0.75, 0.75)],
	6: [Vector2(0.25, 0.25), Vector2(0.75, 0.25), Vector2(0.25, 0.5), Vector2(0.75, 0.5), Vector2(0.25, 0.75), Vector2(0.75, 0.75)],
}

var url := "ws://127.0.0.1:8080"
var player_name := "Godot"
var auto_play := false
var players: Array[int] = []
var names := {}
var scores := {}
var turn := 0
var started := false
var finished := false
var last_roll := 0
var lines: Array[String] = []
var roll_button: Button
var pass_button: Button


func _ready() -> void:
	for arg in OS.get_cmdline_user_args():
		if arg.begins_with("--url="):
			url = arg.substr(6)
		elif arg.begins_with("--name="):
			player_name = arg.substr(7)
		elif arg == "--bot":
			auto_play = true
	roll_button = _button("Roll", Vector2(600, 300), func() -> void: _act("roll"))
	pass_button = _button("Pass", Vector2(700, 300), func() -> void: _act("pass"))
	multiplayer.connected_to_server.connect(_on_connected)
	multiplayer.connection_failed.connect(func() -> void: _say("could not connect to " + url))
	multiplayer.server_disconnected.connect(func() -> void: _say("the server left"))
	var peer := WebSocketMultiplayerPeer.new()
	peer.supported_protocols = PackedStringArray(["ludus"])  # the demo's sub-protocol
	var err := peer.create_client(url)
	if err != OK:
		_say("cannot connect to %s (error %d)" % [url, err])
		return
	multiplayer.multiplayer_peer = peer
	_say("connecting to " + url)


func _on_connected() -> void:
	_say("connected as peer %d" % multiplayer.get_unique_id())
	set_player_name.rpc_id(1, player_name)


func _button(text: String, at: Vector2, pressed: Callable) -> Button:
	var button := Button.new()
	button.text = text
	button.position = at
	button.size = Vector2(90, 40)
	button.pressed.connect(pressed)
	add_child(button)
	return button


func _act(action: String) -> void:
	if _my_turn():
		request_action.rpc_id(1, action)


func _my_turn() -> bool:
	return started and not finished and turn < players.size() and players[turn] == multiplayer.get_unique_id()


func _say(text: String) -> void:
	print("GAME: " + text)
	lines.append(text)
	if lines.size() > 6:
		lines.pop_front()
	queue_redraw()


# The RPCs, as the Python Game (game.py) declares them.

@rpc("any_peer")
func set_player_name(_name: String) -> void:
	pass  # the server's


@rpc("any_peer")
func request_action(_action: String) -> void:
	pass  # the server's


@rpc("call_local")
func _log(message: String) -> void:
	if " rolled a " in message:
		last_roll = message.get_slice(" rolled a ", 1).to_int()
	if message == "The game begins":
		started = true
	_say(message)


@rpc("call_local")
func add_player(peer_id: int, player: String) -> void:
	if not players.has(peer_id):
		players.append(peer_id)
	names[peer_id] = player if player != "" else "... connecting ..."
	if not scores.has(peer_id):
		scores[peer_id] = 0
	queue_redraw()


@rpc("call_local")
func del_player(peer_id: int) -> void:
	var index := players.find(peer_id)
	if index < 0:
		return
	players.remove_at(index)
	_say("%s left" % names.get(peer_id, str(peer_id)))
	names.erase(peer_id)
	scores.erase(peer_id)
	if index < turn:
		turn -= 1


@rpc("call_local")
func update_player_name(peer_id: int, player: String) -> void:
	if names.has(peer_id):
		names[peer_id] = player
		_say("%s joined" % player)


@rpc("call_local")
func set_score(peer_id: int, score: int) -> void:
	scores[peer_id] = score
	queue_redraw()


@rpc("call_local")
func set_turn(new_turn: int) -> void:
	turn = new_turn
	started = true
	roll_button.disabled = not _my_turn()
	pass_button.disabled = not _my_turn()
	queue_redraw()
	if _my_turn():
		print("GAME: my turn")
		if auto_play:
			await get_tree().create_timer(0.3).timeout
			_act("roll")


@rpc("call_local")
func game_over(winner: String, score: int) -> void:
	finished = true
	roll_button.disabled = true
	pass_button.disabled = true
	_say("Game over: %s wins with %d" % [winner, score])


# The table, drawn.

func _draw() -> void:
	var font := ThemeDB.fallback_font
	draw_rect(Rect2(Vector2.ZERO, size), BACKGROUND)
	draw_string(font, Vector2(40, 56), "Dice at a Python table", HORIZONTAL_ALIGNMENT_LEFT, -1, 30, TEXT)
	for i in players.size():
		var peer_id := players[i]
		var top := 90 + i * 66
		var theirs := started and not finished and i == turn
		var ink := BACKGROUND if theirs else TEXT
		draw_rect(Rect2(40, top, 500, 56), TURN if theirs else ROW)
		var who: String = names.get(peer_id, "?")
		if peer_id == multiplayer.get_unique_id():
			who += "  (you)"
		draw_string(font, Vector2(58, top + 38), who, HORIZONTAL_ALIGNMENT_LEFT, 360, 24, ink)
		draw_string(font, Vector2(420, top + 40), str(scores.get(peer_id, 0)), HORIZONTAL_ALIGNMENT_RIGHT, 100, 30, ink)
	draw_rect(DIE_RECT, DIE)
	for pip in PIPS.get(last_roll, []):
		draw_circle(DIE_RECT.position + pip * DIE_RECT.size, 16, PIP)
	draw_string(font, Vector2(600, 380), _status(), HORIZONTAL_ALIGNMENT_LEFT, 340, 22, TURN)
	for k in lines.size():
		draw_string(font, Vector2(40, 396 + k * 22), lines[k], HORIZONTAL_ALIGNMENT_LEFT, 520, 18, TEXT)


func _status() -> String:
	if finished:
		return "Game over"
	if not started or players.is_empty():
		return "Waiting for players..."
	if _my_turn():
		return "Your turn: roll or pass"
	return "%s's turn" % names.get(players[turn], "?")
