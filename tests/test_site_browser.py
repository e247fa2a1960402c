"""The site in a real browser: Debian's headless Chromium driven by Playwright.

One browser and one build of the real FAQ serve the whole module. Without /usr/bin/chromium the
module is skipped (and the session says so); under CI=true it fails instead.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests import browser
from tests.conftest import REPO, SITE_USERNAME, edit, line_of

pytestmark = pytest.mark.browser

PAGES = ["index.html", "theme-concours.html", "qr.html", "evenements.html", "en/index.html",
         "en/theme-sans-concours.html"]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Say nothing per request."""


@pytest.fixture(scope="module")
def base_url(real_site: Path) -> Iterator[str]:
    """The built site over HTTP on loopback, as a web server would serve it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(real_site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the module (Debian's, never a downloaded one)."""
    browser.require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=browser.CHROMIUM,
                                              args=browser.CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh tab at phone width, recording console errors and uncaught exceptions."""
    context = chromium.new_context(viewport={"width": 360, "height": 780})
    tab = context.new_page()
    tab.errors = []
    tab.on("console", lambda message: tab.errors.append(message.text)
           if message.type == "error" else None)
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    yield tab
    context.close()


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_without_console_errors(page: Any, base_url: str, name: str) -> None:
    """The page loads, has a title and a main landmark, and logs no error."""
    response = page.goto(base_url + name)
    assert response.status == 200
    assert page.title() and page.locator("main h1").count() == 1
    assert page.errors == []


def test_search_finds_an_entry_by_a_typoed_query(page: Any, base_url: str) -> None:
    """Typing a misspelt question lists the right entry, whose link opens its anchor."""
    page.goto(base_url + "index.html")
    page.get_by_label("Votre question, en quelques mots").fill("aprentisage fonction publik")
    result = page.locator("#search-results a").first
    result.wait_for()
    assert result.get_attribute("href") == "theme-sans-concours.html#apprentissage"
    assert "question(s) trouvée(s)" in page.locator("#search-status").inner_text()
    result.click()
    page.wait_for_url("**/theme-sans-concours.html#apprentissage")
    assert page.errors == []


def test_search_says_when_nothing_matches(page: Any, base_url: str) -> None:
    """A query that matches nothing says so in the status line, read out by screen readers."""
    page.goto(base_url + "index.html")
    page.locator("#q").fill("xylophone zebre")
    page.locator("#q").press("Enter")
    status = page.locator("#search-status")
    status.filter(has_text="Aucune question").wait_for()
    assert page.locator("#search-results li").count() == 0


@pytest.fixture(scope="module")
def printed_links() -> dict[str, str]:
    """`careerbot links`' output for the real FAQ: start payload -> URL."""
    done = subprocess.run([str(Path(sys.executable).parent / "careerbot"), "links", "--username",
                           SITE_USERNAME], cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=True)
    urls = [line.split()[0] for line in done.stdout.splitlines()]
    return {url.split("?start=")[1]: url for url in urls}


def test_deep_link_buttons_carry_the_entrys_start_parameter(page: Any, base_url: str,
                                                           printed_links: dict[str, str]) -> None:
    """Each "Poser la question au bot" opens t.me with start=<entry id>, as `careerbot links`."""
    page.goto(base_url + "theme-concours.html")
    pairs = page.locator("article.entry").evaluate_all(
        "nodes => nodes.map(n => [n.id, n.querySelector('a.ask').href])")
    assert len(pairs) >= 5
    assert all(href == printed_links[entry_id] == f"https://t.me/{SITE_USERNAME}?start={entry_id}"
               for entry_id, href in pairs)


def test_keyboard_reaches_the_details_and_opens_them(page: Any, base_url: str) -> None:
    """Tab reaches "Plus de détails" and Enter opens the rest of the answer."""
    page.goto(base_url + "theme-concours.html#concours-externe")
    summary = page.locator("#concours-externe summary")
    summary.focus()
    assert page.evaluate("document.activeElement.textContent").strip() == "📖 Plus de détails"
    page.keyboard.press("Enter")
    assert page.locator("#concours-externe details").get_attribute("open") is not None


@pytest.mark.parametrize("name", PAGES)
def test_no_horizontal_scroll_at_360_px(page: Any, base_url: str, name: str) -> None:
    """At 360 px wide nothing is wider than the screen."""
    page.goto(base_url + name)
    page.locator("details").evaluate_all("nodes => nodes.forEach(n => n.open = true)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


@pytest.mark.parametrize("name", PAGES)
def test_axe_finds_no_serious_violation(page: Any, base_url: str, name: str) -> None:
    """axe-core (from npm, at test time) finds no serious or critical accessibility violation."""
    script = browser.axe_script()
    page.goto(base_url + name)
    page.add_script_tag(content=script)
    violations = page.evaluate("async () => (await axe.run()).violations.map("
                               "v => ({id: v.id, impact: v.impact, nodes: v.nodes.length, "
                               "target: v.nodes[0].target.join(' ')}))")
    assert [v for v in violations if v["impact"] in ("serious", "critical")] == []


@pytest.mark.parametrize("name", ["index.html", "theme-concours.html"])
@pytest.mark.parametrize("width", [360, 1280])
def test_screenshots(chromium: Any, base_url: str, name: str, width: int) -> None:
    """Full-page screenshots of the index and a theme page are kept in test-artifacts/site/."""
    context = chromium.new_context(viewport={"width": width, "height": 900})
    tab = context.new_page()
    tab.goto(base_url + name)
    browser.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = browser.ARTIFACTS / f"{name.removesuffix('.html')}-{width}.png"
    tab.screenshot(path=str(target), full_page=True)
    context.close()
    assert target.stat().st_size > 10_000


def test_qr_codes_decode_to_the_printed_links(page: Any, base_url: str, tmp_path: Path,
                                             printed_links: dict[str, str]) -> None:
    """Each QR code, as the browser renders the SVG the page ships, decodes (zbar) to the URL
    printed under it: the bot, or a line of `careerbot links`; the route, every theme and every
    event have one.
    """
    browser.zbarimg()
    page.goto(base_url + "qr.html")
    figures = page.locator("figure.qr")
    decoded: list[str] = []
    for index in range(figures.count()):
        figure = figures.nth(index)
        shot = tmp_path / f"qr-{index}.png"
        figure.locator("img").screenshot(path=str(shot))
        urls = browser.decode_qr(shot)
        assert urls == [figure.locator(".qr-url").inner_text()]
        decoded.append(urls[0])
    bot = f"https://t.me/{SITE_USERNAME}"
    assert decoded[0] == bot
    assert set(decoded[1:]) <= set(printed_links.values())
    expected = {url for payload, url in printed_links.items()
                if payload == "parcours" or payload.startswith(("theme-", "event-"))}
    assert set(decoded[1:]) == expected


def test_preview_shows_an_edit_then_the_yaml_error_after_a_reload(page: Any, served: str,
                                                                   faq_dir: Path) -> None:
    """As a maintainer: `site serve`, edit an answer, reload: it shows; break the YAML, reload:
    the page shows the error with its file and line; fix it, reload: the site is back.
    """
    page.goto(served + "theme-acces.html")
    bubble = page.locator("#concours-definition .bubble.bot")
    assert "la voie normale" in bubble.inner_text()
    edit(faq_dir / "acces.yaml", "la voie normale", "le chemin habituel")
    page.reload()
    assert "le chemin habituel" in bubble.inner_text()
    path = faq_dir / "contrats.yaml"
    good = path.read_text(encoding="utf-8")
    edit(path, "    question:", "   question: [")
    page.reload()
    assert page.locator("h1").inner_text() == "⚠️ La FAQ a des erreurs"
    assert page.locator(".problems li").first.inner_text().startswith(
        f"{path}:{line_of(path, 'question: [')}: ")
    browser.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(browser.ARTIFACTS / "serve-error-360.png"), full_page=True)
    path.write_text(good, encoding="utf-8")
    page.reload()
    assert "le chemin habituel" in bubble.inner_text()
    assert [e for e in page.errors if "500" not in e] == []
