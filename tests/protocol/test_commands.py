"""Command numbers: Godot's NetworkCommands and SysCommands, then ours."""

from __future__ import annotations

from multiplayer.protocol.commands import Command, Status, SysCommand


def test_godot_numbers() -> None:
    """0..7 and the SYS sub-commands are numbered as in Godot (scene_multiplayer.h)."""
    godot = ["REMOTE_CALL", "SIMPLIFY_PATH", "CONFIRM_PATH", "RAW", "SPAWN", "DESPAWN", "SYNC"]
    assert [Command[name] for name in godot] == list(range(7))
    assert Command.SYS == 7
    assert [SysCommand.AUTH, SysCommand.ADD_PEER, SysCommand.DEL_PEER, SysCommand.RELAY] == [
        0,
        1,
        2,
        3,
    ]


def test_our_commands_follow_godots() -> None:
    """The library's own commands take the numbers after SYS, each once."""
    ours = [c for c in Command if c > Command.SYS]
    assert sorted(ours) == list(range(8, 8 + len(ours)))
    assert [Status.OK, Status.ERROR, Status.REFUSED] == [0, 1, 2]
