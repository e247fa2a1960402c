"""Eval figures per topic, and what `careerbot calibrate` tells a maintainer."""

from __future__ import annotations

from pathlib import Path

import pytest

from careerbot.cli import main
from careerbot.evaluation import Outcome, by_topic


def outcome(expect: tuple[str, ...], status: str, answered: str | None = None,
            suggestions: tuple[str, ...] = ()) -> Outcome:
    """An outcome as the matcher would leave it."""
    return Outcome("q", expect, "", status, answered, 0.5, suggestions)


def test_by_topic_counts_each_expected_entry_and_what_it_took() -> None:
    """Each topic gets its cases' rates; `taken` counts wrong answers given with it elsewhere."""
    topics = by_topic([
        outcome(("pacte",), "answer", "pacte"),
        outcome(("pacte",), "suggest", None, ("apprentissage", "pacte")),
        outcome(("pacte", "apprentissage"), "answer", "apprentissage"),
        outcome(("apprentissage",), "answer", "pacte"),
        outcome((), "answer", "pacte"),
    ])
    assert topics["pacte"] == {"n_in_scope": 3, "direct_right": round(2 / 3, 4),
                               "direct_wrong": 0.0, "resolved": 1.0, "taken": 2}
    assert topics["apprentissage"] == {"n_in_scope": 2, "direct_right": 0.5, "direct_wrong": 0.5,
                                       "resolved": 0.5, "taken": 0}


def test_calibrate_prints_old_and_new_settings_and_figures(
        faq_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`calibrate` shows each threshold old -> new, and the metrics before and after."""
    cases = tmp_path / "dev.yaml"
    cases.write_text(
        "cases:\n"
        "  - {q: c koi un concours, expect: [concours-definition]}\n"
        "  - {q: categorie b diplome, expect: [categories-a-b-c]}\n"
        "  - {q: cdd dans l administration, expect: [contractuel]}\n"
        "  - {q: salaire footballeur, expect: []}\n", encoding="utf-8")
    assert main(["calibrate", str(cases), "--faq", str(faq_dir)]) == 0
    out = capsys.readouterr().out
    assert "settings (old -> new):" in out
    assert any(line.split()[:2] == ["answer_min", "0.7"] and "->" in line
               for line in out.splitlines())
    assert any(line.split()[0] == "direct_right" and line.split()[2] == "->"
               for line in out.splitlines() if line.strip())
    assert not (faq_dir / "matching.yaml").exists()  # nothing written without --write
