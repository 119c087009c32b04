extends Node
## A SceneMultiplayer server over the harness's tunnel. It prints what happens, answers each
## raw packet with send_bytes("echo:" + packet), and disconnects a peer that sends "kick".

const TunnelPeer = preload("res://webgodot/tunnel_peer.gd")

var mp: SceneMultiplayer


func _ready() -> void:
	mp = multiplayer as SceneMultiplayer
	mp.peer_connected.connect(func(id: int) -> void: print("peer_connected %d" % id))
	mp.peer_disconnected.connect(func(id: int) -> void: print("peer_disconnected %d" % id))
	mp.peer_packet.connect(_on_peer_packet)
	var peer := TunnelPeer.new()
	var err := peer.open(TunnelPeer.url_from_args())
	mp.multiplayer_peer = peer
	print("SERVER open=%d unique_id=%d is_server=%s" % [err, mp.get_unique_id(), mp.is_server()])


func _on_peer_packet(id: int, data: PackedByteArray) -> void:
	print("peer_packet %d %s" % [id, data.hex_encode()])
	if data.get_string_from_utf8() == "kick":
		mp.disconnect_peer(id)
		return
	var err := mp.send_bytes("echo:".to_utf8_buffer() + data, id)
	print("send_bytes %d -> %d" % [id, err])
