"""`careerbot site build` and `site serve`, without a browser: files, links, QR codes, errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
from markupsafe import escape

from careerbot.cli import main
from careerbot.faq_loader import check_directory
from careerbot.site.markup import telegram_html
from tests.browser import decode_qr
from tests.conftest import SITE_USERNAME, edit, line_of

CAREERBOT = str(Path(sys.executable).parent / "careerbot")


class _Page(HTMLParser):
    """The links, sources and ids of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        for name in ("href", "src"):
            if values.get(name):
                self.targets.append(str(values[name]))


def parse(path: Path) -> _Page:
    """The page at `path`, parsed."""
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_every_internal_link_resolves(real_site: Path) -> None:
    """Every relative href and src of every page names a file of the site, and its #anchor an id
    of that page.
    """
    pages = sorted(real_site.rglob("*.html"))
    assert len(pages) >= 2 * (3 + 9)
    parsed = {path: parse(path) for path in pages}
    broken = []
    for path, page in parsed.items():
        for target in page.targets:
            if urlsplit(target).scheme in ("http", "https", "data"):
                continue
            assert not target.startswith("/"), f"{path}: {target} is absolute: it breaks in a subfolder"
            address, anchor = urldefrag(target)
            file = (path.parent / address.split("?")[0]).resolve() if address else path
            if not file.is_file() or real_site.resolve() not in file.parents:
                broken.append(f"{path.relative_to(real_site)}: {target}")
            elif anchor and anchor not in (parsed.get(file) or parse(file)).ids:
                broken.append(f"{path.relative_to(real_site)}: {target} (no id {anchor!r})")
    assert broken == []


def test_pages_declare_their_language(real_site: Path) -> None:
    """French pages say lang="fr", English ones under en/ say lang="en"; an answer with no English
    version keeps lang="fr" on the English page.
    """
    assert '<html lang="fr">' in (real_site / "index.html").read_text(encoding="utf-8")
    english = (real_site / "en" / "theme-concours.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in english
    assert "What is an internal competitive exam" in english


def test_theme_page_shows_entries_like_the_bot(real_site: Path) -> None:
    """Each entry has its anchor, the answer's HTML subset, its link buttons, the deep link and
    its review date.
    """
    page = (real_site / "theme-concours.html").read_text(encoding="utf-8")
    assert '<article class="entry" id="concours-interne"' in page
    assert "Le <strong>concours interne</strong>" in page
    assert f'href="https://t.me/{SITE_USERNAME}?start=concours-interne"' in page
    assert "Revu le 29 novembre 2026" in page
    assert 'class="key" href="https://www.service-public.fr/' in page


def test_build_writes_events_and_calendar_files(faq_dir: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """`site build` writes the index with the events to come, the past ones apart, an .ics each."""
    out = tmp_path / "out"
    assert main(["site", "build", str(out), "--faq", str(faq_dir), "--username", SITE_USERNAME]) == 0
    assert f"site écrit dans {out}/" in capsys.readouterr().out
    events = (out / "evenements.html").read_text(encoding="utf-8")
    upcoming, past = events.split('id="past-title"')
    assert "Soirée des futurs agents" in upcoming and "Mission de FP21 au Québec" in past
    assert (out / "events" / "soiree-2030.ics").read_bytes().startswith(b"BEGIN:VCALENDAR\r\n")
    assert f"https://t.me/{SITE_USERNAME}?start=event-soiree-2030" in events
    assert "Soirée des futurs agents" in (out / "index.html").read_text(encoding="utf-8")


def test_build_without_a_username_says_how_to_give_one(faq_dir: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Without --username, CAREERBOT_BOT_USERNAME or a token, `site build` exits 2 saying what to
    pass.
    """
    with pytest.raises(SystemExit) as exit_info:
        main(["site", "build", str(tmp_path / "out"), "--faq", str(faq_dir)])
    assert exit_info.value.code == 2
    assert "--username" in capsys.readouterr().err


def test_broken_faq_fails_the_build_with_the_checkers_messages(faq_dir: Path, tmp_path: Path) -> None:
    """On a FAQ that fails `check`, `site build` writes nothing and prints check's own errors."""
    edit(faq_dir / "acces.yaml", "related: [concours-definition]", "related: [nulle-part]")
    edit(faq_dir / "themes.yaml", "order: 2", "order: deux")
    out = tmp_path / "out"
    built = subprocess.run([CAREERBOT, "site", "build", str(out), "--faq", str(faq_dir),
                            "--username", SITE_USERNAME], capture_output=True, text=True,
                           timeout=120, check=False)
    checked = subprocess.run([CAREERBOT, "check", str(faq_dir)], capture_output=True, text=True,
                             timeout=120, check=False)
    assert built.returncode == checked.returncode == 1
    expected = [str(p) for p in check_directory(faq_dir) if p.severity == "error"]
    assert len(expected) == 2
    assert built.stderr.splitlines()[:-1] == expected
    assert all(line in checked.stdout.splitlines() for line in expected)
    assert "le site n'est pas construit" in built.stderr.splitlines()[-1]
    assert not out.exists()


def test_shipped_qr_pngs_decode_to_the_published_links(real_site: Path) -> None:
    """Each PNG QR code of the site decodes (zbar) to the bot or one of `careerbot links`'s URLs."""
    printed = subprocess.run([CAREERBOT, "links", "--username", SITE_USERNAME], cwd=real_site.parent,
                             capture_output=True, text=True, timeout=120, check=True,
                             env={"CAREERBOT_FAQ_DIR": str(Path(__file__).parent.parent / "faq"),
                                  "PATH": "/usr/bin:/bin"})
    links = {line.split()[0] for line in printed.stdout.splitlines()}
    pngs = sorted((real_site / "qr").glob("*.png"))
    decoded = {png.stem: decode_qr(png) for png in pngs}
    assert decoded["bot"] == [f"https://t.me/{SITE_USERNAME}"]
    del decoded["bot"]
    assert all(urls == [f"https://t.me/{SITE_USERNAME}?start={stem}"] for stem, urls in decoded.items())
    assert {urls[0] for urls in decoded.values()} <= links
    assert {"parcours", "theme-concours", "event-mission-quebec-2019"} <= set(decoded)


def test_answer_html_cannot_inject_markup() -> None:
    """Only Telegram's subset comes out: other tags are dropped, text escaped, links http(s)."""
    html = telegram_html('<b>a &amp; b</b> <script>alert(1)</script> <a href="javascript:x">x</a>'
                         ' <tg-spoiler>s</tg-spoiler> <a href="https://fp21.fr/">site</a> <b>open')
    assert str(html) == ('<strong>a &amp; b</strong> alert(1) <span>x</span> <span class="spoiler">s'
                         '</span> <a href="https://fp21.fr/" rel="noopener">site</a> <strong>open'
                         '</strong>')


def get(url: str) -> tuple[int, str]:
    """The status and text of a page."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


def test_serve_shows_an_edit_at_the_next_reload(served: str, faq_dir: Path) -> None:
    """An answer edited while the preview runs is on the page at the next request."""
    status, page = get(served + "theme-acces.html")
    assert status == 200 and "la voie normale" in page
    edit(faq_dir / "acces.yaml", "la voie normale", "le chemin habituel")
    status, page = get(served + "theme-acces.html")
    assert status == 200 and "le chemin habituel" in page and "la voie normale" not in page


def test_serve_shows_the_checkers_errors_with_file_and_line(served: str, faq_dir: Path) -> None:
    """Broken YAML: every page shows the checker's error with its file and line; fixed, the site
    is back.
    """
    path = faq_dir / "contrats.yaml"
    good = path.read_text(encoding="utf-8")
    line = line_of(path, "question:")
    edit(path, "    question:", "   question: [")
    expected = [str(p) for p in check_directory(faq_dir) if p.severity == "error"]
    assert expected and expected[0].startswith(f"{path}:{line}:")
    status, page = get(served + "index.html")
    assert status == 500
    assert "La FAQ a des erreurs" in page
    assert all(escape(message) in page for message in expected)
    path.write_text(good, encoding="utf-8")
    time.sleep(0.01)
    status, page = get(served + "index.html")
    assert status == 200 and "careerbot" in page


def test_search_index_holds_each_entry_once(real_site: Path) -> None:
    """The search index lists every entry with its page anchor and normalised phrasings."""
    index = json.loads((real_site / "search-index.json").read_text(encoding="utf-8"))
    assert len({item["href"] for item in index}) == len(index) >= 50
    pacte = next(item for item in index if item["href"].endswith("#pacte"))
    assert all(word == word.lower() and not re.search(r"[^a-z0-9 ]", word) for word in pacte["w"])


def test_serve_on_a_taken_port_says_so(faq_dir: Path, served: str) -> None:
    """A second preview on the same port ends with one line saying to pick another --port."""
    port = urlsplit(served).port
    done = subprocess.run([CAREERBOT, "site", "serve", "--port", str(port), "--faq", str(faq_dir),
                           "--username", SITE_USERNAME], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 2
    assert done.stderr.startswith(f"careerbot : impossible d'écouter sur 127.0.0.1:{port} (")
    assert len(done.stderr.splitlines()) == 1


def test_entry_shows_the_next_event_on_its_topic(faq_dir: Path, tmp_path: Path) -> None:
    """An entry sharing a tag with an event to come shows it under the answer, as the bot does."""
    out = tmp_path / "out"
    assert main(["site", "build", str(out), "--faq", str(faq_dir), "--username", SITE_USERNAME]) == 0
    page = (out / "theme-acces.html").read_text(encoding="utf-8")
    entry = page.split('id="concours-definition"')[1].split("</article>")[0]
    assert "📅 Prochain événement sur ce sujet : <strong>Soirée des futurs agents</strong>" in entry


def test_build_never_empties_a_folder_it_did_not_write(faq_dir: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """`site build docs` on a folder of other files refuses and deletes nothing; a folder it wrote
    before is rebuilt.
    """
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "keep.txt").write_text("precious", encoding="utf-8")
    args = ["--faq", str(faq_dir), "--username", SITE_USERNAME]
    assert main(["site", "build", str(mine), *args]) == 2
    assert "was not written by `careerbot site build`" in capsys.readouterr().err
    assert (mine / "keep.txt").read_text(encoding="utf-8") == "precious"
    out = tmp_path / "out"
    assert main(["site", "build", str(out), *args]) == 0
    (out / "stale.html").write_text("old", encoding="utf-8")
    assert main(["site", "build", str(out), *args]) == 0
    assert not (out / "stale.html").exists() and (out / "index.html").exists()
