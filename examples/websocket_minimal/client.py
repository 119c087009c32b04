# examples/websocket_minimal/client.py: the minimal WebSocket client of Godot's docs
"""The minimal client of Godot's "Using WebSockets" page, as a Node.

    python examples/websocket_minimal/client.py                      # wss://echo.websocket.org
    python examples/websocket_minimal/client.py ws://localhost:9080  # the minimal server

It connects, sends "Test packet" after two seconds, prints what comes back, and
ends when the connection closes. For scripts and tests, it can also send a binary
packet (--binary), and once everything it sent has come back, close with a code
and reason (--close 4000 --reason done) or vanish without a close frame (--drop).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from multiplayer import Node, SceneTree
from multiplayer.transport.tls import TLSOptions
from multiplayer.transport.websocket_peer import WebSocketPeer


class Client(Node):
    # Where to connect: wss:// is TLS, ws:// is plain TCP. The server beside
    # this file listens on ws://localhost:9080.
    websocket_url = "wss://echo.websocket.org"

    def __init__(self, options: argparse.Namespace) -> None:
        super().__init__()
        self.options = options
        self.websocket_url = options.url
        # One link; nothing happens on it between two poll() calls that we see.
        self.socket = WebSocketPeer()
        self.waited = 0.0
        self.expected: list[tuple[bytes, bool]] = []  # what we sent, to come back
        self.sent = False

    def _ready(self) -> None:
        # Starts connecting; a URL that cannot work raises ValueError here.
        try:
            self.socket.connect_to_url(self.websocket_url, tls_options(self.options))
        except ValueError as exc:
            print(f"Unable to connect: {exc}", file=sys.stderr)
            self.get_tree().quit()
            return
        print(f"Connecting to {self.websocket_url}...")

    def _enter_tree(self) -> None:
        # Ctrl-C (SIGINT) and SIGTERM close the socket with 1001 (going away): the
        # server is told, and _process ends the program once the socket is closed.
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, self.socket.close, 1001)

    def send_test_packets(self) -> None:
        print("> Sending test packet.")
        self.socket.send_text(self.options.text)
        self.expected.append((self.options.text.encode(), True))
        if self.options.binary:
            print("> Sending binary test packet.")
            self.socket.put_packet(bytes(range(8)))
            self.expected.append((bytes(range(8)), False))
        self.sent = True

    def _process(self, delta: float) -> None:
        # poll() every frame: it is when what arrived, and any change of state,
        # becomes visible.
        self.socket.poll()

        state = self.socket.get_ready_state()

        # Open: packets can be sent and read.
        if state == WebSocketPeer.STATE_OPEN:
            # Godot's page sends 2 s after _ready (`await get_tree().create_timer(2).timeout`);
            # here, --delay seconds after the socket opened.
            self.waited += delta
            if not self.sent and self.waited >= self.options.delay:
                self.send_test_packets()
            while self.socket.get_available_packet_count():
                packet = self.socket.get_packet()
                if self.socket.was_string_packet():
                    packet_text = packet.decode()
                    print(f"< Got text data from server: {packet_text}")
                else:
                    print(f"< Got binary data from server: {len(packet)} bytes")
                self.came_back(packet, self.socket.was_string_packet())

        # Closing: keep polling, or the close handshake cannot finish cleanly.
        elif state == WebSocketPeer.STATE_CLOSING:
            pass

        # Closed: nothing more will come; polling can stop.
        elif state == WebSocketPeer.STATE_CLOSED:
            # -1: the link ended without a close frame from the other side.
            code = self.socket.get_close_code()
            print(f"WebSocket closed with code: {code}. Clean: {code != -1}")
            self.get_tree().quit()

    def came_back(self, packet: bytes, text: bool) -> None:
        """With --close or --drop: end once everything sent has come back."""
        if self.expected and self.expected[0] == (packet, text):
            self.expected.pop(0)
        if self.sent and not self.expected:
            if self.options.drop:
                print("x Dropping the connection without a close frame.")
                self.socket.close(-1)
            elif self.options.close is not None:
                print(f"> Closing with code {self.options.close}, reason {self.options.reason!r}.")
                self.socket.close(self.options.close, self.options.reason)


def tls_options(options: argparse.Namespace) -> TLSOptions | None:
    """A wss:// URL verifies the server against the system's CAs, unless --ca
    names another authority or --insecure turns verification off."""
    if options.insecure:
        return TLSOptions.client_unsafe()
    if options.ca:
        return TLSOptions.client(trusted_chain=options.ca)
    return None


async def main(options: argparse.Namespace) -> None:
    tree = SceneTree()
    tree.root.add_child(Client(options))
    await tree.run()
    client = tree.root.get_node("Client")
    assert isinstance(client, Client)
    if client.socket.get_close_code() == -1 and not client.sent:
        sys.exit(1)  # it never got to talk: the connection failed (it said why)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", nargs="?", default=Client.websocket_url)
    parser.add_argument("--text", default="Test packet", help="the text message to send")
    parser.add_argument("--binary", action="store_true", help="also send 8 bytes as binary")
    parser.add_argument("--delay", type=float, default=2.0, help="seconds before sending")
    end = parser.add_mutually_exclusive_group()
    end.add_argument("--close", type=int, metavar="CODE", help="close once all came back")
    end.add_argument("--drop", action="store_true", help="vanish once all came back")
    parser.add_argument("--reason", default="", help="the close reason, with --close")
    parser.add_argument("--ca", metavar="PEM", help="trust this CA for wss://")
    parser.add_argument("--insecure", action="store_true", help="wss:// without verification")
    return parser.parse_args()


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    asyncio.run(main(parse_args()))
