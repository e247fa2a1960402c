"""The checked FAQ and its index kept on disk, so that a restart on the same files skips reading,
validating and indexing them (most of the time from start to first answer).

A cached copy is found by a key that hashes everything the build depends on: the bytes of every
FAQ file, the bytes of careerbot's code and schemas, and the versions of Python and of the
libraries that parse, validate, normalise and index. Any edit makes a new key, so the cache can
only serve the FAQ the files hold now. Only a FAQ that passed the checker is kept; its errors
cannot come back with time (the one rule reading the date refuses reviews dated in the future).

The file is a pickle: it lives in the data directory, private to the bot's user like the
database beside it. An unreadable, foreign or truncated file is ignored and rebuilt; a directory
that cannot be written only costs the saving.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from careerbot.faq import Faq
from careerbot.matching import Matcher

FORMAT = 1  # bump when what is pickled changes shape in a way the code hash would not show
PREFIX = "faq-"
LIBRARIES = ("numpy", "rapidfuzz", "snowballstemmer", "PyStemmer", "unidecode", "PyYAML",
             "jsonschema")
CODE = Path(__file__).resolve().parent  # the careerbot package
log = logging.getLogger("careerbot.faq")

Built = tuple[Faq, Matcher]


def faq_files(directory: Path) -> list[Path]:
    """The files a FAQ build reads, in a stable order."""
    return sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))


def cache_key(directory: Path) -> str:
    """A hash of the FAQ files, careerbot's code and the libraries: equal keys, equal builds."""
    digest = hashlib.sha256(f"careerbot faq cache {FORMAT}\0{sys.version}\0".encode())
    for library in LIBRARIES:
        try:
            version = metadata.version(library)
        except metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"{library}={version}\0".encode())
    code = sorted(CODE.rglob("*.py")) + sorted(CODE.glob("schemas/*.json"))
    for path in code:
        digest.update(str(path.relative_to(CODE)).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(b"faq\0")
    for path in faq_files(directory):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def cached_build(directory: Path, cache_dir: Path | None, build: Callable[[Path], Built]) -> Built:
    """`build(directory)`, or the copy kept in `cache_dir` for these very files (None: no cache).

    Raises what `build` raises (FaqError for a FAQ that fails the checker); nothing is kept then.
    """
    if cache_dir is None:
        return build(directory)
    key = cache_key(directory)
    path = cache_dir / f"{PREFIX}{key[:32]}.pickle"
    found = _read(path, key)
    if found is not None:
        return found
    built = build(directory)
    if cache_key(directory) == key:  # an edit during the build: keep nothing, the next start builds
        _write(path, key, built)
    return built


def _read(path: Path, key: str) -> Built | None:
    """The build kept under `key`, or None when there is none or it cannot be trusted."""
    try:
        with path.open("rb") as file:
            stored = pickle.load(file)
    except FileNotFoundError:
        return None
    except Exception as error:  # truncated, corrupted, or written by other code: rebuild
        log.warning("FAQ cache %s unreadable (%s): rebuilding it", path.name,
                    type(error).__name__)
        return None
    if (not isinstance(stored, tuple) or len(stored) != 3 or stored[0] != key
            or not isinstance(stored[1], Faq) or not isinstance(stored[2], Matcher)):
        log.warning("FAQ cache %s holds something else: rebuilding it", path.name)
        return None
    return stored[1], stored[2]


def _write(path: Path, key: str, built: Built) -> None:
    """Keep a build (atomically: a crash leaves the old file or none), and drop older ones."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".faq-", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as file:
                pickle.dump((key, *built), file, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        for old in path.parent.glob(f"{PREFIX}*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as error:  # a read-only or full data directory: start without saving
        log.warning("FAQ cache not saved in %s (%s)", path.parent,
                    error.strerror or type(error).__name__)
