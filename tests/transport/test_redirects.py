"""Tests for :mod:`multiplayer.transport.redirects`: what a handshake's redirect
asks of a client (plain functions; following one over real sockets is in
test_websocket_client.py)."""

from __future__ import annotations

import pytest

from multiplayer.transport.redirects import (
    Redirected,
    redirect_of,
)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_names_where_to_go(status: int) -> None:
    found = redirect_of("ws://a.example:9080/join/K3M9QZ", status, [("Location", "ws://b:81/x")])
    assert isinstance(found, Redirected)
    assert (found.url, found.headers) == ("ws://b:81/x", ())


@pytest.mark.parametrize(
    ("url", "location", "target"),
    [
        ("ws://a:9080/join/K3M9QZ", "/join/K3M9QZ?x=1", "ws://a:9080/join/K3M9QZ?x=1"),
        ("wss://a:9443/join/K3M9QZ", "//b:9444/r", "wss://b:9444/r"),
        ("ws://a:9080/join/K", "http://b:81/r", "ws://b:81/r"),
        ("wss://a/join/K", "https://b/r", "wss://b/r"),
        ("a:9080/join/K", "/resume/K", "ws://a:9080/resume/K"),  # (no scheme: ws://)
    ],
)
def test_a_relative_or_http_location_is_resolved(url: str, location: str, target: str) -> None:
    found = redirect_of(url, 307, [("location", location)])
    assert isinstance(found, Redirected) and found.url == target


def test_the_ticket_is_carried_to_the_next_request() -> None:
    headers = [("Location", "ws://b:81/x"), ("Multiplayer-Ticket", "t.s"), ("X-Other", "no")]
    found = redirect_of("ws://a/x", 307, headers)
    assert isinstance(found, Redirected)
    assert found.headers == (("Multiplayer-Ticket", "t.s"),)


@pytest.mark.parametrize(
    ("url", "headers", "error"),
    [
        ("wss://a/x", [("Location", "ws://b/x")], "redirected a wss:// connection"),
        ("wss://a/x", [("Location", "http://b/x")], "redirected a wss:// connection"),
        ("WSS://a/x", [("Location", "ws://b/x")], "redirected a wss:// connection"),
        ("wss://a/x", [("Location", "WS://b/x")], "redirected a wss:// connection"),
        ("ws://a/x", [("Location", "ftp://b/x")], "redirected the connection to 'ftp"),
        ("ws://a/x", [], "no Location"),
    ],
)
def test_a_redirect_that_must_not_be_followed_is_an_error(
    url: str, headers: list[tuple[str, str]], error: str
) -> None:
    found = redirect_of(url, 302, headers)
    assert type(found) is ConnectionError
    assert error in str(found)


@pytest.mark.parametrize("status", [101, 200, 304, 400, 426, 503])
def test_other_statuses_are_no_redirect(status: int) -> None:
    assert redirect_of("ws://a/x", status, [("Location", "ws://b/x")]) is None


@pytest.mark.parametrize(
    ("location", "same_host"),
    [("ws://a:9081/x", True), ("/resume/K", True), ("ws://b:9080/x", False), ("//b/x", False)],
)
def test_a_redirect_says_whether_it_stays_on_the_host(location: str, same_host: bool) -> None:
    """(A hop to another host leaves the client's credentials out.)"""
    found = redirect_of("ws://a:9080/join/K", 307, [("Location", location)])
    assert isinstance(found, Redirected) and found.same_host is same_host
