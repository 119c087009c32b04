extends MultiplayerPeerExtension
## A MultiplayerPeer that makes a web Godot a SceneMultiplayer SERVER (unique id 1).
##
## A browser cannot listen on a socket, so WebSocketMultiplayerPeer.create_server() fails on
## the web. This peer instead opens ONE WebSocket to tools/webgodot/tunnel.py (TunnelBridge),
## which listens for the real clients, gives each its id, and carries every packet through
## this one connection. Godot's SceneMultiplayer server logic (admission, relay, path cache,
## RPC encoding) runs unchanged on top.
##
## Tunnel framing: one WebSocket binary message per frame, [u8 kind][i32 peer, LE][payload]
##   bridge -> Godot   1 CONNECTED     peer: a client opened and was sent its id
##                     2 DISCONNECTED  peer: that client's connection closed
##                     3 PACKET        peer: the sender; payload: one packet
##   Godot -> bridge   2 DISCONNECT    peer: close that client (disconnect_peer)
##                     3 PACKET        peer: the target as in put_packet (>0 one client,
##                                     0 every client, <0 every client but -peer); payload
##                     4 REFUSE        peer: 1 to refuse new clients, 0 to accept them again
## Keep this in step with tools/webgodot/tunnel.py.
##
## Usage: var peer := TunnelPeer.new(); peer.open(TunnelPeer.url_from_args())
## (the harness passes --webgodot-tunnel=ws://127.0.0.1:PORT in the user args).

const ARG_PREFIX := "--webgodot-tunnel="
const CONNECTED := 1
const DISCONNECTED := 2
const DISCONNECT := 2
const PACKET := 3
const REFUSE := 4
## The tunnel carries every client's traffic, so it gets far more buffer than the 64 KiB
## default of one WebSocketMultiplayerPeer connection.
const TUNNEL_BUFFER := 16 << 20

var _socket := WebSocketPeer.new()
var _status := MultiplayerPeer.CONNECTION_DISCONNECTED
var _peers := {}  # client id -> true, as long as SceneMultiplayer knows it as connected
var _inbox: Array = []  # [sender id, PackedByteArray], oldest first
var _target := 0
var _channel := 0
var _mode := MultiplayerPeer.TRANSFER_MODE_RELIABLE
var _refusing := false


## The tunnel URL the harness put in the user args, or "" if it is not there.
static func url_from_args() -> String:
	for arg in OS.get_cmdline_user_args():
		if arg.begins_with(ARG_PREFIX):
			return arg.substr(ARG_PREFIX.length())
	return ""


func open(url: String) -> Error:
	_socket.inbound_buffer_size = TUNNEL_BUFFER
	_socket.outbound_buffer_size = TUNNEL_BUFFER
	_socket.max_queued_packets = 65536
	var err := _socket.connect_to_url(url)
	if err == OK:
		_status = MultiplayerPeer.CONNECTION_CONNECTING
	return err


func _frame(kind: int, peer: int, payload := PackedByteArray()) -> PackedByteArray:
	var frame := PackedByteArray([kind, 0, 0, 0, 0])
	frame.encode_s32(1, peer)
	return frame + payload


func _poll() -> void:
	_socket.poll()
	var state := _socket.get_ready_state()
	if state == WebSocketPeer.STATE_OPEN and _status == MultiplayerPeer.CONNECTION_CONNECTING:
		_status = MultiplayerPeer.CONNECTION_CONNECTED
		if _refusing:  # set before the tunnel was open
			_socket.send(_frame(REFUSE, 1))
	while _socket.get_available_packet_count() > 0:
		_receive(_socket.get_packet())
	if state == WebSocketPeer.STATE_CLOSED and _status != MultiplayerPeer.CONNECTION_DISCONNECTED:
		_status = MultiplayerPeer.CONNECTION_DISCONNECTED
		_peers.clear()
		_inbox.clear()


func _receive(frame: PackedByteArray) -> void:
	if frame.size() < 5:
		push_error("tunnel_peer: short frame of %d bytes" % frame.size())
		return
	var peer := frame.decode_s32(1)
	match frame[0]:
		CONNECTED:
			_peers[peer] = true
			peer_connected.emit(peer)
		DISCONNECTED:
			# a peer dropped with disconnect_peer(id, true) is already gone: no second signal
			if _peers.erase(peer):
				peer_disconnected.emit(peer)
		PACKET:
			if _peers.has(peer):
				_inbox.append([peer, frame.slice(5)])
		_:
			push_error("tunnel_peer: unknown frame kind %d" % frame[0])


func _get_available_packet_count() -> int:
	return _inbox.size()


## SceneMultiplayer asks for the sender before it takes the packet.
func _get_packet_peer() -> int:
	return _inbox[0][0] if _inbox.size() > 0 else 0


func _get_packet_script() -> PackedByteArray:
	if _inbox.is_empty():
		return PackedByteArray()
	return _inbox.pop_front()[1]


func _put_packet_script(buffer: PackedByteArray) -> Error:
	if _status != MultiplayerPeer.CONNECTION_CONNECTED:
		return ERR_UNCONFIGURED
	if _target > 0 and not _peers.has(_target):
		return ERR_INVALID_PARAMETER  # WebSocketMultiplayerPeer: "Peer not found"
	return _socket.send(_frame(PACKET, _target, buffer))


func _get_packet_channel() -> int:
	return 0


func _get_packet_mode() -> MultiplayerPeer.TransferMode:
	return MultiplayerPeer.TRANSFER_MODE_RELIABLE


func _set_transfer_channel(channel: int) -> void:
	_channel = channel


func _get_transfer_channel() -> int:
	return _channel


func _set_transfer_mode(mode: MultiplayerPeer.TransferMode) -> void:
	_mode = mode


func _get_transfer_mode() -> MultiplayerPeer.TransferMode:
	return _mode


func _set_target_peer(peer: int) -> void:
	_target = peer


func _get_unique_id() -> int:
	return 1


func _is_server() -> bool:
	return true


func _is_server_relay_supported() -> bool:
	return true


func _get_connection_status() -> MultiplayerPeer.ConnectionStatus:
	return _status


## What WebSocketMultiplayerPeer reports: its outbound buffer less its old 9-byte header.
func _get_max_packet_size() -> int:
	return 65535 - 9


func _set_refuse_new_connections(enable: bool) -> void:
	_refusing = enable
	if _status == MultiplayerPeer.CONNECTION_CONNECTED:
		_socket.send(_frame(REFUSE, 1 if enable else 0))


func _is_refusing_new_connections() -> bool:
	return _refusing


func _disconnect_peer(peer: int, force: bool) -> void:
	if not _peers.has(peer):
		return
	_socket.send(_frame(DISCONNECT, peer))
	if force:
		_peers.erase(peer)  # like WebSocketMultiplayerPeer: forgotten at once, no signal


func _close() -> void:
	_socket.close()
	_status = MultiplayerPeer.CONNECTION_DISCONNECTED
	_peers.clear()
	_inbox.clear()
