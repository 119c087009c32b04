extends Node2D
## A replicated player: position (spawn + ALWAYS) and score (spawn + ON_CHANGE).
## Every change it sees is printed as one "TEST: ..." line.

var score := 0:
	set(value):
		score = value
		if is_node_ready():
			print("TEST: score %s %d" % [name, value])

var _last := Vector2.ZERO


func _ready() -> void:
	_last = position
	print("TEST: ready %s %d %d %d" % [name, position.x, position.y, score])
	$Sync.synchronized.connect(_on_synchronized)


func _on_synchronized() -> void:
	if position != _last:
		_last = position
		print("TEST: moved %s %d %d" % [name, position.x, position.y])
