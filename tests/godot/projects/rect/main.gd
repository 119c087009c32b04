extends Node
## A red 300x200 rectangle at (100, 100) on the blue clear colour; prints DRAWN once two frames
## have been drawn, so a screenshot taken after that line shows it.


func _ready() -> void:
	var rect := ColorRect.new()
	rect.color = Color(1, 0, 0)
	rect.position = Vector2(100, 100)
	rect.size = Vector2(300, 200)
	add_child(rect)
	for i in 2:
		await RenderingServer.frame_post_draw
	print("DRAWN renderer=%s adapter=%s window=%s" % [
		RenderingServer.get_current_rendering_method(),
		RenderingServer.get_video_adapter_name(),
		DisplayServer.window_get_size()])
