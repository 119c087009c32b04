extends Node
## Prints one known line (JSON: its user arguments and the engine version), then quits with
## code 7, so a clean exit is told apart from a default one. With the user argument --error it
## first reports an error through push_error().


func _ready() -> void:
	var args := OS.get_cmdline_user_args()
	if "--error" in args:
		push_error("hello was asked for an error")
	var info := {"user_args": args, "engine": Engine.get_version_info().string}
	print("HELLO " + JSON.stringify(info))
	get_tree().quit(7)
