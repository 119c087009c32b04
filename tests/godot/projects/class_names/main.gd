extends Node
## Uses a class_name declared in another script, as a real project does: it needs the
## class cache that the harness writes for projects that have none.


func _ready() -> void:
	var coin := Coin.new()
	print("TEST: %s %d %s" % [coin.describe(), Coin.VALUE, coin is Coin])
	coin.free()
	get_tree().quit()
