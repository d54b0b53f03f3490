"""`make bench`'s turn-taking (Training/bench.py::best_in_turns), with stand-in sides (no Swift, no torch)."""
import sys
from pathlib import Path

import bench


def side(times_file: Path) -> list[str]:
    """A side that reports the next time from `times_file` on each run (one per line, consumed in order)."""
    script = ("import json, pathlib, sys; p = pathlib.Path(sys.argv[1]); lines = p.read_text().split(); "
              "p.write_text('\\n'.join(lines[1:])); print(json.dumps({'best_seconds': float(lines[0])}))")
    return [sys.executable, "-c", script, str(times_file)]


def test_each_side_keeps_its_fastest_round_whichever_round_it_came_in(tmp_path):
    (tmp_path / "a").write_text("0.9\n0.3\n0.5")
    (tmp_path / "b").write_text("0.2\n0.8\n0.7")
    failures: list[str] = []
    best = bench.best_in_turns({"a": side(tmp_path / "a"), "b": side(tmp_path / "b")}, dict(), 3, failures)
    assert failures == []
    assert best["a"]["best_seconds"] == 0.3 and best["b"]["best_seconds"] == 0.2
    assert (tmp_path / "a").read_text() == "" and (tmp_path / "b").read_text() == ""   # three rounds each


def test_a_failing_side_is_recorded_and_stops_the_rounds(tmp_path):
    (tmp_path / "a").write_text("0.4\n0.1\n0.1")
    failures: list[str] = []
    broken = [sys.executable, "-c", "import sys; sys.exit('no model')"]
    best = bench.best_in_turns({"a": side(tmp_path / "a"), "broken": broken}, dict(), 3, failures)
    assert "broken" not in best and best["a"]["best_seconds"] == 0.4
    assert len(failures) == 1 and "no model" in failures[0]
