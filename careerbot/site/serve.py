"""`careerbot site serve`: the site of a FAQ directory on localhost, rebuilt when a file changes.

The FAQ files' names, sizes and modification times are polled twice a second, and again before
every request, so a reload always shows the last edit. When `careerbot check` finds errors, every
page shows them (file and line) instead of the site.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from careerbot.site.build import build_site, checked_faq, environment
from careerbot.site.texts import TEXTS

POLL_SECONDS = 0.5
Signature = tuple[tuple[str, int, int], ...]


class Preview:
    """The last build of a FAQ directory's site, or the errors that prevent it."""

    def __init__(self, faq_dir: Path, *, username: str, clock: Callable[[], datetime],
                 report: Callable[[str], None] = print) -> None:
        self.faq_dir = faq_dir
        self.username = username
        self.clock = clock
        self.report = report
        self.workdir = Path(tempfile.mkdtemp(prefix="careerbot-site-"))
        self.lock = threading.Lock()
        self.signature: Signature | None = None
        self.root: Path | None = None  # the current build
        self.errors: list[str] = []
        self.warnings = 0
        self.builds = 0

    def files(self) -> Signature:
        """What identifies the FAQ files' current content: names, sizes, modification times."""
        found = []
        for path in sorted([*self.faq_dir.glob("*.yaml"), *self.faq_dir.glob("*.yml")]):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            found.append((path.name, stat.st_size, stat.st_mtime_ns))
        return tuple(found)

    def refresh(self) -> None:
        """Rebuild if a FAQ file changed since the last build (or check)."""
        with self.lock:
            signature = self.files()
            if signature == self.signature:
                return
            self.signature = signature
            faq, problems = checked_faq(self.faq_dir)
            errors = [p for p in problems if p.severity == "error"]
            self.warnings = len(problems) - len(errors)
            if faq is None:
                self.errors = [str(p) for p in errors]
                self.report(f"la FAQ a {len(errors)} erreur(s) : la page les affiche")
                return
            self.builds += 1
            target = self.workdir / f"build-{self.builds}"
            build_site(faq, target, username=self.username, now=self.clock())
            old, self.root, self.errors = self.root, target, []
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
            self.report(f"site reconstruit ({len(faq.entries)} entrées)")

    def error_page(self, lang: str = "fr") -> bytes:
        """The page listing the checker's errors."""
        page = environment().get_template("error.html.j2").render(
            lang=lang, t=TEXTS[lang], errors=self.errors, warnings=self.warnings)
        return page.encode("utf-8")

    def watch(self, stop: threading.Event) -> None:
        """Poll the FAQ files until `stop` is set."""
        while not stop.wait(POLL_SECONDS):
            try:
                self.refresh()
            except Exception as error:  # keep watching; the next request shows what it can
                self.report(f"échec de la reconstruction : {type(error).__name__}: {error}")

    def close(self) -> None:
        """Remove the builds."""
        shutil.rmtree(self.workdir, ignore_errors=True)


class _Handler(SimpleHTTPRequestHandler):
    preview: Preview

    def __init__(self, *args: Any, preview: Preview, **kwargs: Any) -> None:
        self.preview = preview
        preview.refresh()
        super().__init__(*args, directory=str(preview.root or preview.workdir), **kwargs)

    def send_head(self) -> Any:
        if self.preview.errors:
            body = self.preview.error_page("en" if self.path.startswith("/en/") else "fr")
            self.send_response(HTTPStatus.INTERNAL_SERVER_ERROR)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            return io.BytesIO(body)
        return super().send_head()

    def end_headers(self) -> None:
        if not self.preview.errors:
            self.send_header("Cache-Control", "no-store")  # a reload shows the last build
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the maintainer sees rebuilds, not every request."""


def serve(faq_dir: Path, *, username: str, host: str, port: int, clock: Callable[[], datetime],
          ready: Callable[[str], None] = print) -> None:
    """Serve the site of `faq_dir` until interrupted (Ctrl+C); OSError if it cannot listen."""
    preview = Preview(faq_dir, username=username, clock=clock)
    try:
        server = ThreadingHTTPServer((host, port), partial(_Handler, preview=preview))
    except OSError:
        preview.close()
        raise
    preview.refresh()
    stop = threading.Event()
    watcher = threading.Thread(target=preview.watch, args=(stop,), daemon=True)
    watcher.start()
    ready(f"http://{host}:{server.server_port}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
        preview.close()
