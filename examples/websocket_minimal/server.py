# examples/websocket_minimal/server.py: the minimal WebSocket echo server of Godot's docs
"""The minimal server of Godot's "Using WebSockets" page, as a Node.

    python examples/websocket_minimal/server.py             # ws://localhost:9080
    python examples/websocket_minimal/server.py --port 0    # any free port (printed)
    python examples/websocket_minimal/server.py --key key.pem --cert cert.pem  # wss://

A TCPServer takes each connection and hands it to a new WebSocketPeer; every
frame, each peer is polled, text is echoed as text and binary as binary, and
peers that closed are dropped. With --peers N it stops after N peers have left.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from multiplayer import Node, SceneTree
from multiplayer.transport.tcp_server import StreamPeerTCP, TCPServer
from multiplayer.transport.tls import StreamPeerTLS, TLSOptions
from multiplayer.transport.websocket_peer import WebSocketPeer


class Server(Node):
    # The port the client beside this file expects.
    PORT = 9080

    def __init__(self, options: argparse.Namespace) -> None:
        super().__init__()
        self.options = options
        # Accepts TCP connections; each becomes a WebSocketPeer below.
        self.tcp_server = TCPServer()
        # Links by the id we give them.
        self.peers: dict[int, WebSocketPeer] = {}
        self.last_peer_id = 1
        self.left = 0
        self.tls = TLSOptions.server(options.key, options.cert) if options.key else None

    def _ready(self) -> None:
        try:
            self.tcp_server.listen(self.options.port, self.options.bind)
        except OSError as exc:
            print(f"Unable to start server: {exc}", file=sys.stderr)
            self.get_tree().quit()
            return
        print("Server started.")
        print(f"Listening on port {self.tcp_server.get_local_port()}")

    def _process(self, delta: float) -> None:
        while self.tcp_server.is_connection_available():
            self.last_peer_id += 1
            print(f"+ Peer {self.last_peer_id} connected.")
            ws = WebSocketPeer()
            ws.accept_stream(self.secure(self.tcp_server.take_connection()))
            self.peers[self.last_peer_id] = ws

        # (a copy: closed peers are removed as we go)
        for peer_id, peer in list(self.peers.items()):
            peer.poll()

            peer_state = peer.get_ready_state()
            if peer_state == WebSocketPeer.STATE_OPEN:
                while peer.get_available_packet_count():
                    packet = peer.get_packet()
                    if peer.was_string_packet():
                        packet_text = packet.decode()
                        print(f"< Got text data from peer {peer_id}: {packet_text} ... echoing")
                        peer.send_text(packet_text)
                    else:
                        print(f"< Got binary data from peer {peer_id}: {len(packet)} ... echoing")
                        peer.send(packet)
            elif peer_state == WebSocketPeer.STATE_CLOSED:
                del self.peers[peer_id]
                code = peer.get_close_code()
                reason = peer.get_close_reason()
                clean = code != -1
                print(f"- Peer {peer_id} closed with code: {code}, reason {reason}. Clean: {clean}")
                self.left += 1
                if self.left == self.options.peers:
                    self.get_tree().quit()

    def secure(self, stream: StreamPeerTCP) -> StreamPeerTCP | StreamPeerTLS:
        """With --key and --cert, the TLS layer goes between TCP and WebSocket."""
        if self.tls is None:
            return stream
        tls = StreamPeerTLS()
        tls.accept_stream(stream, self.tls)
        return tls

    def _exit_tree(self) -> None:
        self.tcp_server.stop()
        for peer in self.peers.values():
            peer.close(1001, "server stopping")


async def main(options: argparse.Namespace) -> None:
    tree = SceneTree()
    server = Server(options)
    # Ctrl-C (SIGINT) and SIGTERM end it as --peers does: the peers left get 1001.
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, tree.quit)
    tree.root.add_child(server)
    await tree.run()
    started = server.tcp_server.is_listening()
    tree.root.remove_child(server)  # closes what is left
    if not started:
        sys.exit(1)  # (it said why)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=Server.PORT, help="0: any free port")
    parser.add_argument("--bind", default="*", help="'*' or an IP address")
    parser.add_argument("--peers", type=int, default=0, help="stop after N peers left")
    parser.add_argument("--key", help="PEM private key, for wss://")
    parser.add_argument("--cert", help="PEM certificate chain, for wss://")
    options = parser.parse_args()
    if bool(options.key) != bool(options.cert):
        parser.error("--key and --cert go together")
    return options


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    asyncio.run(main(parse_args()))
