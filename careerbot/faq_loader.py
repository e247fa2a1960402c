"""Load a FAQ directory into a checked `Faq`, or fail with every problem found."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path
from typing import Any

from careerbot.clashes import find_clashes
from careerbot.faq import (
    Entry,
    Event,
    Faq,
    FaqError,
    GlossaryTerm,
    Link,
    Problem,
    RouteStep,
    SmallTalk,
    Theme,
    Translation,
)
from careerbot.faq_checks import run_checks
from careerbot.faq_files import Sources, YamlFile, read_yaml, validate
from careerbot.matching import Settings


def read_sources(directory: Path) -> tuple[Sources, list[Problem]]:
    """Read and validate every YAML file of a FAQ directory; build records from the valid ones."""
    sources = Sources(directory)
    if not directory.is_dir():
        return sources, [Problem(directory, 1, "dossier de la FAQ introuvable",
                                 "indiquez le dossier qui contient les fichiers *.yaml, ex. `faq`",
                                 message_en="FAQ directory not found",
                                 hint_en="pass the folder holding the *.yaml files, e.g. `faq`")]
    problems: list[Problem] = []
    paths = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    if not paths:
        problems.append(Problem(directory, 1, "aucun fichier *.yaml dans le dossier de la FAQ",
                                "vérifiez le dossier indiqué",
                                message_en="no *.yaml file in the FAQ directory"))
    for path in paths:
        file, read_problems = read_yaml(path)
        problems.extend(read_problems)
        if file is None:
            sources.unparsed = True
            continue
        if not isinstance(file.data, dict):
            problems.append(Problem(path, 1, "le fichier doit être une suite de champs « clé: valeur »",
                                    "commencez par exemple par `entries:` ou `events:`",
                                    message_en="the file must be a mapping of fields",
                                    hint_en="start with e.g. `entries:` or `events:`"))
            continue
        problems.extend(_schema_reference(file))
        schema_problems = validate(file)
        problems.extend(schema_problems)
        if not schema_problems:
            problems.extend(_build(file, sources))
        elif file.kind == "entries" and isinstance(file.data.get("entries"), list):
            sources.invalid_ids.update(str(raw["id"]) for raw in file.data["entries"]
                                       if isinstance(raw, dict) and "id" in raw)
    return sources, problems


def _schema_reference(file: YamlFile) -> list[Problem]:
    """Warn when a file does not point editors at its schema (no validation while typing)."""
    line = f"# yaml-language-server: $schema=../careerbot/schemas/{file.kind}.schema.json"
    if "$schema=" in file.path.read_text(encoding="utf-8").split("\n", 1)[0]:
        return []
    return [Problem(file.path, 1, "le fichier n'indique pas son schéma JSON",
                    f"mettez en première ligne : {line}",
                    message_en="the file does not name its JSON Schema",
                    hint_en=f"put this first line: {line}", severity="warning")]


def _build(file: YamlFile, sources: Sources) -> list[Problem]:
    """Turn a schema-valid file into records; report what the schema cannot see (times)."""
    problems: list[Problem] = []
    data = file.data
    if file.kind == "entries":
        sources.theme_of_file[file.path] = (data["theme"], file.origin("theme"))
        for index, raw in enumerate(data["entries"]):
            sources.entries.append((_entry(raw, data["theme"]), file.origin("entries", index)))
    elif file.kind == "themes":
        for index, raw in enumerate(data["themes"]):
            theme = Theme(raw["id"], raw["title"], raw["emoji"], raw["order"], raw.get("en_title"))
            sources.themes.append((theme, file.origin("themes", index)))
    elif file.kind == "events":
        for index, raw in enumerate(data["events"]):
            origin = file.origin("events", index)
            bad = [key for key in ("start", "end") if parse_moment(raw[key]) is None]
            problems.extend(
                Problem(file.path, origin.line(key),
                        f"l'événement {raw['id']!r} : le champ {key!r} contient {raw[key]!r}, qui "
                        "n'est pas une date et heure avec fuseau horaire",
                        "écrivez par ex. 2025-03-12T18:30:00+01:00 (+01:00 en hiver, +02:00 en été)",
                        message_en=f"event {raw['id']!r}: {key} {raw[key]!r} is not a date and "
                        "time with a time zone", hint_en="write e.g. 2025-03-12T18:30:00+01:00")
                for key in bad)
            if not bad:
                sources.events.append((_event(raw), origin))
    elif file.kind == "smalltalk":
        for index, raw in enumerate(data["smalltalk"]):
            talk = SmallTalk(raw["id"], tuple(raw["patterns"]), tuple(raw["replies"]),
                             tuple(raw.get("en_replies", ())), bool(raw.get("ranked", False)))
            sources.smalltalk.append((talk, file.origin("smalltalk", index)))
    elif file.kind == "parcours":
        for index, raw in enumerate(data["parcours"]):
            step = RouteStep(raw["id"], raw["emoji"], raw["title"], raw["text"].strip(),
                             tuple(raw["entries"]),
                             tuple(Link(link["label"], link["url"]) for link in raw["links"]),
                             raw.get("en_title"), raw.get("en_text"))
            sources.route.append((step, file.origin("parcours", index)))
    elif file.kind == "glossary":
        for index, raw in enumerate(data["glossary"]):
            term = GlossaryTerm(raw["id"], raw["term"], raw["fr"].strip(), raw["en"].strip(),
                                tuple(raw.get("aliases", ())), raw.get("entry"))
            sources.glossary.append((term, file.origin("glossary", index)))
    elif file.kind == "matching":
        sources.matching = dict(data)
    return problems


def _entry(raw: dict[str, Any], theme: str) -> Entry:
    en = raw.get("en")
    return Entry(
        id=raw["id"],
        theme=theme,
        question=raw["question"].strip(),
        alternatives=tuple(a.strip() for a in raw["alternatives"]),
        answer=raw["answer"].strip(),
        details=raw.get("details", "").strip(),
        links=tuple(Link(link["label"], link["url"]) for link in raw["links"]),
        related=tuple(raw["related"]),
        tags=tuple(raw["tags"]),
        reviewed=date.fromisoformat(raw["reviewed"]),
        keywords=tuple(raw.get("keywords", ())),
        en=Translation(en["question"], tuple(en.get("alternatives", ())), en["answer"].strip(),
                       en.get("details", "").strip())
        if en else None,
    )


def parse_moment(text: str) -> datetime | None:
    """An ISO 8601 date-time with a UTC offset, or None if it is not one."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _event(raw: dict[str, Any]) -> Event:
    start, end = parse_moment(raw["start"]), parse_moment(raw["end"])
    assert start is not None and end is not None  # checked by _build
    return Event(raw["id"], raw["title"], start, end, raw["place"], raw["url"],
                 tuple(raw["tags"]), raw["description"].strip(), tuple(raw.get("related", ())),
                 raw["region"])


def assemble(sources: Sources) -> Faq:
    """The Faq made of the records read (themes sorted by their order)."""
    return Faq(
        entries=tuple(entry for entry, _ in sources.entries),
        themes=tuple(sorted((t for t, _ in sources.themes), key=lambda t: t.order)),
        events=tuple(event for event, _ in sources.events),
        smalltalk=tuple(talk for talk, _ in sources.smalltalk),
        route=tuple(step for step, _ in sources.route),
        glossary=tuple(term for term, _ in sources.glossary),
        matching=sources.matching,
    )


def load_faq(directory: Path, *, today: date | None = None) -> tuple[Faq, list[Problem]]:
    """Load a FAQ directory: the complete Faq and its warnings, or FaqError with every problem."""
    sources, problems = read_sources(directory)
    problems.extend(run_checks(sources, today or date.today()))
    if any(p.severity == "error" for p in problems):
        raise FaqError(problems)
    return assemble(sources), problems


def check_directory(directory: Path, *, today: date | None = None) -> list[Problem]:
    """Every problem of a FAQ directory, clashes included (these need a loadable FAQ)."""
    sources, problems = read_sources(directory)
    problems.extend(run_checks(sources, today or date.today()))
    if not any(p.severity == "error" for p in problems):
        faq = assemble(sources)
        problems.extend(find_clashes(sources, faq, Settings.from_mapping(faq.matching)))
    return problems


def faq_version(directory: Path) -> str:
    """A short hash of the FAQ files' content: which version of the FAQ is answering."""
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.yaml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]
