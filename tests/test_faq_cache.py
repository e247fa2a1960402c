"""The FAQ kept between starts: served only for the very files it was built from."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest

from careerbot import faq_cache
from careerbot.faq import FaqError
from careerbot.faq_cache import Built, cached_build
from careerbot.faq_reload import build, index
from tests.conftest import edit

OLD_ANSWER = "Le <b>concours</b> est la voie normale pour devenir fonctionnaire."
NEW_ANSWER = "Le <b>concours</b> reste la voie normale, revue ce matin."


class Counting:
    """The real build, counting how often it runs."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self, directory: Path) -> Built:
        """Build, and count."""
        self.runs += 1
        return index(directory)


def kept(cache_dir: Path) -> list[Path]:
    """The cache files in a directory."""
    return sorted(cache_dir.glob("faq-*.pickle"))


def test_a_second_start_takes_the_kept_faq(faq_dir: Path, tmp_path: Path) -> None:
    """The second build on the same files reads the cache: same FAQ, same matches, no build."""
    built = Counting()
    first = cached_build(faq_dir, tmp_path / "cache", built)
    second = cached_build(faq_dir, tmp_path / "cache", built)
    assert built.runs == 1
    assert second[0] == first[0]
    for question in ("c'est quoi un concours", "contrat sans concours", "bonjour"):
        assert second[1].match(question) == first[1].match(question)
    assert len(kept(tmp_path / "cache")) == 1


def test_an_edit_is_never_served_from_the_cache(faq_dir: Path, tmp_path: Path) -> None:
    """After an edit the FAQ is built again, answers with the new text, and replaces the old
    copy; undoing the edit builds (or finds) the first version again.
    """
    cache = tmp_path / "cache"
    assert OLD_ANSWER in build(faq_dir, team_inbox=False, cache_dir=cache).conversation.ask(
        "c'est quoi un concours").html
    before = kept(cache)
    edit(faq_dir / "acces.yaml", OLD_ANSWER, NEW_ANSWER)
    loaded = build(faq_dir, team_inbox=False, cache_dir=cache)
    assert NEW_ANSWER in loaded.conversation.ask("c'est quoi un concours").html
    assert len(kept(cache)) == 1 and kept(cache) != before
    edit(faq_dir / "acces.yaml", NEW_ANSWER, OLD_ANSWER)
    assert OLD_ANSWER in build(faq_dir, team_inbox=False, cache_dir=cache).conversation.ask(
        "c'est quoi un concours").html


def test_a_new_file_changes_the_key(faq_dir: Path) -> None:
    """Adding a file (even a .yml one) or changing careerbot's code gives another key."""
    key = faq_cache.cache_key(faq_dir)
    (faq_dir / "extra.yml").write_text("entries: []\n", encoding="utf-8")
    assert faq_cache.cache_key(faq_dir) != key


def test_a_code_change_changes_the_key(faq_dir: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The key hashes careerbot's code: an upgrade of the matcher never reads an old index."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "matching.py").write_text("A = 1\n")
    monkeypatch.setattr(faq_cache, "CODE", code)
    key = faq_cache.cache_key(faq_dir)
    (code / "matching.py").write_text("A = 2\n")
    assert faq_cache.cache_key(faq_dir) != key


@pytest.mark.parametrize("content", [b"", b"not a pickle at all", b"\x80\x05truncated",
                                     pickle.dumps(("another key", None, None)),
                                     pickle.dumps({"something": "else"})])
def test_a_corrupted_or_foreign_cache_file_is_ignored(faq_dir: Path, tmp_path: Path,
                                                      content: bytes,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    """A damaged, truncated or foreign file in place of the cache is rebuilt, with a warning,
    and replaced by a good copy.
    """
    cache = tmp_path / "cache"
    built = Counting()
    cached_build(faq_dir, cache, built)
    (path,) = kept(cache)
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="careerbot.faq"):
        _, matcher = cached_build(faq_dir, cache, built)
    assert built.runs == 2
    assert "rebuilding" in caplog.text
    assert matcher.match("c'est quoi un concours").entry_id == "concours-definition"
    cached_build(faq_dir, cache, built)
    assert built.runs == 2  # the good copy was written back


def test_a_cache_directory_that_cannot_be_written_still_starts(
        faq_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """When the cache cannot be created (here a file stands where the directory should be; tests
    run as root, for whom permissions do not stop a write), the FAQ loads all the same.
    """
    blocker = tmp_path / "data"
    blocker.write_text("a file, not a directory")
    with caplog.at_level(logging.WARNING, logger="careerbot.faq"):
        loaded = build(faq_dir, team_inbox=False, cache_dir=blocker / "cache")
    assert "concours" in loaded.conversation.ask("c'est quoi un concours").html
    assert "not saved" in caplog.text


def test_a_faq_that_fails_the_checker_is_not_kept(faq_dir: Path, tmp_path: Path) -> None:
    """A broken FAQ raises as without a cache, and leaves nothing behind to serve later."""
    cache = tmp_path / "cache"
    edit(faq_dir / "acces.yaml", "related: [contractuel]", "related: [n-existe-pas]")
    with pytest.raises(FaqError):
        build(faq_dir, team_inbox=False, cache_dir=cache)
    assert kept(cache) == []


def test_an_edit_during_the_build_is_not_kept(faq_dir: Path, tmp_path: Path) -> None:
    """When the files change while the FAQ is built, that build is used once but not kept: it
    may hold a mix of both versions.
    """
    cache = tmp_path / "cache"

    def build_while_editing(directory: Path) -> Built:
        result = index(directory)
        edit(directory / "acces.yaml", OLD_ANSWER, NEW_ANSWER)
        return result

    cached_build(faq_dir, cache, build_while_editing)
    assert kept(cache) == []
