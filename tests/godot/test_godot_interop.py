"""The Godot interop example (examples/godot_interop) as a user runs it: a real process
that plays a round of dice with a Python server, Python bots and a real Godot 4.6 client,
and saves what the Godot player sees."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tools.webgodot import Image

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[2]
PLAY = ROOT / "examples" / "godot_interop" / "play.py"

# game.gd's colours, as the screenshots show them
BACKGROUND = (25, 31, 46)
ROW = (56, 64, 82)
TURN = (242, 191, 51)
DIE = (245, 245, 237)
ROWS = [90 + 66 * i for i in range(4)]  # the top of each player's row (4 players)


def test_a_godot_player_plays_a_round_at_a_python_table(
    godot_engine: Path, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, str(PLAY), "--bots", "2", "--rounds", "2", "--screenshots", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=150,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Godot saw: Game over: " in out
    assert "   godot | Godot rolled a " in out or "   godot | Godot passed" in out
    assert "Godot joined" in out  # the server learned the Godot player's name

    playing = Image.from_png((tmp_path / "playing.png").read_bytes())
    over = Image.from_png((tmp_path / "over.png").read_bytes())
    for image in (playing, over):
        assert (image.width, image.height) == (960, 540)
        assert image.near(5, 5, BACKGROUND) and image.near(950, 530, BACKGROUND)
        assert image.near(605, 95, DIE)  # the die
        assert image.count((600, 90, 780, 270), (26, 26, 31), tolerance=12) > 500  # its pips
        assert image.count((40, 20, 400, 60), BACKGROUND) < 360 * 40 - 500  # the title's text
    # While playing, exactly one row is lit: the player whose turn it is.
    lit = [top for top in ROWS if playing.near(45, top + 5, TURN)]
    assert len(lit) == 1 and all(playing.near(45, t + 5, ROW) for t in ROWS if t not in lit)
    # Once it is over, none is; the status says so (in the turn colour), and the scores
    # and the log moved on since the first roll.
    assert all(over.near(45, top + 5, ROW) for top in ROWS)
    assert over.count((600, 355, 940, 390), TURN) > 100
    scores, log = (420, 90, 530, 350), (40, 380, 560, 520)
    assert over.crop(scores) != playing.crop(scores)
    assert over.crop(log) != playing.crop(log)
