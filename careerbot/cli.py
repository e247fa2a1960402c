"""The `careerbot` command: the only place that reads options and the environment."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn

import yaml
from dotenv import dotenv_values, find_dotenv

from careerbot.config import Config, ConfigError, storage_location
from careerbot.config import from_env as config_from_env
from careerbot.conversation import Conversation
from careerbot.evaluation import (
    CasesError,
    calibrate,
    leaked,
    load_cases,
    report,
    summarise,
    unknown_ids,
)
from careerbot.evaluation import run as run_cases
from careerbot.faq import Faq, FaqError
from careerbot.faq_loader import check_directory, load_faq, parse_moment
from careerbot.matching import Matcher, Settings
from careerbot.telegram_html import check_html, visible_text
from careerbot.terminal import chat

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def faq_dir(option: str | None) -> Path:
    """The FAQ directory: --faq, else CAREERBOT_FAQ_DIR, else ./faq."""
    return Path(option or os.environ.get("CAREERBOT_FAQ_DIR") or "faq")


def load(directory: Path) -> tuple[Faq, Matcher]:
    """Load the FAQ and index it, or exit with its problems listed."""
    try:
        faq, _ = load_faq(directory)
    except FaqError as error:
        refuse(error, directory)
    return faq, Matcher(faq, Settings.from_mapping(faq.matching))


def refuse(error: FaqError, directory: Path) -> NoReturn:
    """Exit, listing the errors of a FAQ that cannot be loaded."""
    errors = [p for p in error.problems if p.severity == "error"]
    print(*errors, sep="\n", file=sys.stderr)
    print(f"careerbot : la FAQ de {directory} a {len(errors)} erreur(s) ; lancez "
          f"`careerbot check {directory}`", file=sys.stderr)
    raise SystemExit(EXIT_PROBLEMS) from None


def cmd_check(args: argparse.Namespace) -> int:
    """Report every problem of a FAQ directory as path:line: message (hint), in French or English."""
    directory = Path(args.directory)
    today = date.fromisoformat(args.today) if args.today else None
    english = args.lang == "en"
    problems = check_directory(directory, today=today)
    for problem in problems:
        print(problem.render(args.lang))
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if errors or (args.strict and warnings):
        print(f"{directory}: {errors} error(s), {warnings} warning(s)" if english else
              f"{directory} : {errors} erreur(s), {warnings} avertissement(s)", file=sys.stderr)
        return EXIT_PROBLEMS
    faq, _ = load_faq(directory, today=today)
    counts = len(faq.entries), len(faq.themes), len(faq.events)
    print(f"{directory}: OK, {counts[0]} entries, {counts[1]} themes, {counts[2]} events, "
          f"{warnings} warning(s)" if english else
          f"{directory} : OK, {counts[0]} entrées, {counts[1]} thèmes, {counts[2]} événements, "
          f"{warnings} avertissement(s)")
    return EXIT_OK


def cmd_ask(args: argparse.Namespace) -> int:
    """Match one question and show the decision."""
    _, matcher = load(faq_dir(args.faq))
    match = matcher.match(args.question)
    result: dict[str, Any] = {"status": match.status, "id": match.entry_id or match.smalltalk_id,
                              "score": round(match.score, 3), "suggestions": list(match.suggestions)}
    if match.glossary:
        result["glossary"] = list(match.glossary)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(f"{match.status} {result['id'] or ''} (score {result['score']})".replace("  ", " "))
        if match.glossary:
            print(f"  glossary: {', '.join(match.glossary)}")
        for entry_id, score in match.ranking[:3]:
            print(f"  {score:.3f} {entry_id}")
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    """Measure the matcher on a question set."""
    faq, matcher = load(faq_dir(args.faq))
    cases = _cases(Path(args.file), faq)
    result = report(run_cases(cases, matcher))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return EXIT_OK
    _print_summary(result)
    failures = [c for c in result["cases"] if _failed(c)]
    if failures:
        print(f"\n{len(failures)} case(s) to look at:")
        for case in failures:
            got = case["id"] or ", ".join(case["suggestions"]) or "-"
            expected = ", ".join(case["expect"]) or "(out of scope)"
            print(f"  [{case['status']}: {got}] expected {expected}: {case['q']}")
    return EXIT_OK


def _failed(case: dict[str, Any]) -> bool:
    if not case["expect"]:
        return bool(case["status"] == "answer")
    if case["status"] == "answer":
        return case["id"] not in case["expect"]
    return not set(case["suggestions"]) & set(case["expect"])


def _print_summary(result: dict[str, Any]) -> None:
    print(f"in scope: {result['n_in_scope']}, out of scope: {result['n_out_of_scope']}")
    for key in ("direct_right", "direct_wrong", "resolved", "oos_answered"):
        print(f"  {key:<13} {result[key]:.3f}")
    print("by style:")
    for style, rates in result["by_style"].items():
        if rates["n_in_scope"]:
            print(f"  {style:<12} n={rates['n_in_scope']:<4} right {rates['direct_right']:.2f} "
                  f"wrong {rates['direct_wrong']:.2f} resolved {rates['resolved']:.2f}")
        else:
            print(f"  {style:<12} n={rates['n_out_of_scope']:<4} answered {rates['oos_answered']:.2f}")
    if result.get("by_topic"):
        print("by topic (taken: wrong direct answers given with this entry):")
        for topic, rates in result["by_topic"].items():
            print(f"  {topic:<28} n={rates['n_in_scope']:<3} right {rates['direct_right']:.2f} "
                  f"wrong {rates['direct_wrong']:.2f} resolved {rates['resolved']:.2f} "
                  f"taken {rates['taken']}")


def _cases(path: Path, faq: Faq) -> list[Any]:
    try:
        cases = load_cases(path)
    except CasesError as error:
        raise SystemExit(f"careerbot: {error}") from None
    missing = unknown_ids(cases, faq)
    if missing:
        raise SystemExit(f"careerbot: {path} expects unknown entry ids: {', '.join(missing)}")
    return cases


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Choose weights and thresholds on a development set; --write saves faq/matching.yaml."""
    directory = faq_dir(args.faq)
    faq, matcher = load(directory)
    cases = _cases(Path(args.file), faq)
    close = leaked(cases, faq)
    if close:
        # Near-copies of a phrasing look easier than real questions: calibrating on them would
        # make the bot overconfident.
        print(f"note: {len(close)} case(s) nearly copy a FAQ phrasing and are left out")
        cases = [case for case in cases if case not in close]
    before = summarise(run_cases(cases, matcher))
    result = calibrate(faq, cases, matcher.settings, max_wrong=args.max_wrong,
                       max_oos=args.max_oos)
    chosen = result.settings.to_mapping()
    print("settings (old -> new):")
    for name, old, new in _changes(matcher.settings.to_mapping(), chosen):
        print(f"  {name:<28} {old} -> {new}")
    print(f"on {args.file} (before -> after):")
    for key in ("direct_right", "direct_wrong", "resolved", "oos_answered"):
        print(f"  {key:<13} {before[key]:.3f} -> {result.summary[key]:.3f}")
    if args.write:
        target = directory / "matching.yaml"
        header = ("# yaml-language-server: $schema=../careerbot/schemas/matching.schema.json\n"
                  f"# Written by `careerbot calibrate {args.file}`; re-run it after FAQ changes.\n")
        target.write_text(header + yaml.safe_dump(chosen, sort_keys=False), encoding="utf-8")
        print(f"written: {target}")
    return EXIT_OK


def _changes(old: dict[str, Any], new: dict[str, Any],
             prefix: str = "") -> list[tuple[str, Any, Any]]:
    """Every setting as (dotted name, old value, new value), nested mappings flattened."""
    rows: list[tuple[str, Any, Any]] = []
    for name, value in new.items():
        if isinstance(value, dict):
            rows += _changes(old.get(name, {}), value, f"{prefix}{name}.")
        else:
            rows.append((prefix + name, old.get(name), value))
    return rows


def cmd_chat(args: argparse.Namespace) -> int:
    """Chat with the bot in the terminal."""
    faq, matcher = load(faq_dir(args.faq))
    chat(Conversation(faq, matcher), sys.stdin, sys.stdout)
    return EXIT_OK


def environment() -> dict[str, str]:
    """The environment, completed by the .env of the current directory or of the nearest parent
    that has one (the environment wins); the same for every command.
    """
    found = find_dotenv(usecwd=True)
    values = {k: v for k, v in dotenv_values(found).items() if v is not None} if found else {}
    return {**values, **os.environ}


def telegram_config(args: argparse.Namespace) -> Config:
    """The Telegram configuration, or exit with one clear line."""
    env = environment()
    if args.faq:
        env["CAREERBOT_FAQ_DIR"] = args.faq
    if getattr(args, "role", None):
        env["CAREERBOT_ROLE"] = args.role
    try:
        return config_from_env(env)
    except ConfigError as error:
        raise SystemExit(f"careerbot: {error}") from None


def cmd_run(args: argparse.Namespace) -> int:
    """Run the bot: on Telegram when TELEGRAM_BOT_TOKEN is set, else in the terminal."""
    if not environment().get("TELEGRAM_BOT_TOKEN"):
        if not sys.stdin.isatty():
            # A container or a service manager without its token must not "succeed" silently.
            print("careerbot: set TELEGRAM_BOT_TOKEN to run on Telegram (the terminal chat needs "
                  "an interactive terminal; `careerbot chat` reads any input)", file=sys.stderr)
            return EXIT_USAGE
        return cmd_chat(args)
    # No cyclic garbage collection while starting: imports, the FAQ and python-telegram-bot make
    # objects by the hundred thousand, and each full collection walks them all (about 0.2 s in
    # all). The bot collects once and turns it back on just after (telegram/bot.py, settling).
    gc.disable()
    from telegram.error import InvalidToken, NetworkError

    from careerbot import metrics
    from careerbot.faq_reload import build
    from careerbot.telegram import bot as telegram_bot  # only here is python-telegram-bot needed

    config = telegram_config(args)
    try:
        loaded = build(config.faq_dir, team_inbox=config.admin_chat_id is not None,
                       cache_dir=config.cache_dir)
    except FaqError as error:
        refuse(error, config.faq_dir)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry the token
    metrics.faq_loaded(loaded.version, loaded.loaded_at)
    try:
        asyncio.run(_bot_username(config))  # fail fast, with one line, before polling starts
        telegram_bot.run(config, loaded, open_announcing(config, loaded.faq))
    except InvalidToken:
        raise SystemExit("careerbot: the Bot API refused TELEGRAM_BOT_TOKEN (check it with "
                         "@BotFather)") from None
    except NetworkError as error:
        raise SystemExit(f"careerbot: cannot reach the Bot API at {config.api_root} "
                         f"({type(error).__name__}); check TELEGRAM_API_BASE_URL and the "
                         "network") from None
    return EXIT_OK


def database_url(config_url: str | None, data_dir: Path) -> str:
    """The database: CAREERBOT_DATABASE_URL, else an SQLite file under the data directory."""
    from careerbot.storage.database import StorageError, default_url

    if config_url:
        return config_url
    try:
        return default_url(data_dir)
    except StorageError as error:
        raise SystemExit(f"careerbot: {error}") from None


def _open_sqlite_file(url: str) -> None:
    """Open an SQLite file once, synchronously: a path that cannot hold it fails here, plainly.

    Through aiosqlite the same failure sometimes ends with a traceback from its worker thread,
    printed after asyncio.run has closed the loop it would report to (about 1 run in 40).
    """
    import sqlite3

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        sqlite3.connect(parsed.database).close()


def prepared_sessions(url: str) -> Any:
    """Migrate the database to the latest schema, then give a session factory for it."""
    from careerbot.storage.database import migrate, open_engine, sessions

    async def upgrade() -> None:
        engine = open_engine(url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()  # its connections belong to this event loop only

    try:
        _open_sqlite_file(url)
        asyncio.run(upgrade())
    except Exception as error:  # any driver's "cannot connect": say it in one line
        cause = getattr(error, "orig", None) or error
        raise SystemExit(f"careerbot: cannot open the database ({type(cause).__name__}: "
                         f"{str(cause).splitlines()[0] if str(cause) else 'no detail'}); check "
                         "CAREERBOT_DATABASE_URL or CAREERBOT_DATA_DIR") from None
    return sessions(open_engine(url))


def open_announcing(config: Config, faq: Faq) -> Any:
    """Subscriptions and announcements on the configured database (migrated at start); exits
    with one line when an event id is both in events.yaml and in the database.
    """
    from careerbot.announcing import Announcing

    url = database_url(config.database_url, config.data_dir)
    db = prepared_sessions(url)
    clashes = sorted({e.id for e in faq.events} & {e.id for e in stored_events_of(url)})
    if clashes:
        raise SystemExit(
            f"careerbot : l'événement {', '.join(clashes)} est à la fois dans "
            f"{config.faq_dir / 'events.yaml'} et dans la base (créé depuis Telegram) ; "
            "renommez ou retirez celui du fichier, puis relancez.")
    return Announcing(db, config.admin_ids, faq, tag_key=config.token)


def stored_events_of(url: str) -> tuple[Any, ...]:
    """The events organisers added from Telegram (read on an engine of its own, closed after)."""
    from careerbot.storage import events as stored_events
    from careerbot.storage.database import open_engine, sessions

    async def read() -> tuple[Any, ...]:
        engine = open_engine(url)
        try:
            return await stored_events.live(sessions(engine))
        finally:
            await engine.dispose()
    return asyncio.run(read())


def storage_sessions() -> Any:
    """Sessions on the configured database (no Telegram token needed)."""
    return prepared_sessions(database_url(*storage_location(environment())))


def cmd_subscribers(args: argparse.Namespace) -> int:
    """How many subscribers, how many follow each topic, and how many chose each region."""
    from careerbot.announcements import TOPICS
    from careerbot.regions import PLACES
    from careerbot.storage import subscribers

    db = storage_sessions()

    async def counts() -> list[tuple[str, int]]:
        rows = [("subscribers in all", await subscribers.count(db))]
        rows += [(f"would receive a '{key}' announcement ({label})",
                  len(await subscribers.audience(db, [key]))) for key, label, _ in TOPICS
                 if key != "all"]
        chose = await subscribers.region_counts(db)
        rows += [(f"chose the region '{place}' ({PLACES.get(place, place)})", number)
                 for place, number in sorted(chose.items())]
        return rows

    for label, number in asyncio.run(counts()):
        print(f"{number:>7}  {label}")
    return EXIT_OK


def cmd_broadcast(args: argparse.Namespace) -> int:
    """Queue an announcement for the running bot to send (or count its audience with --dry-run)."""
    from careerbot.announcing import event_announcement, event_topics, regional_place
    from careerbot.storage import outbox, subscribers

    faq, _ = load(faq_dir(args.faq))
    topics = set(args.topic or [])
    region = None
    url = database_url(*storage_location(environment()))
    db = prepared_sessions(url)
    if args.event:
        known = (*faq.events, *stored_events_of(url))
        event = next((e for e in known if e.id == args.event), None)
        if event is None:
            raise SystemExit(f"careerbot: unknown event {args.event!r}; known: "
                             + ", ".join(e.id for e in known))
        text, topics = event_announcement(event), topics or event_topics(event)
        region = None if args.all_regions else regional_place(event)
    else:
        text = args.text
    problems = check_html(text).errors
    if problems:
        raise SystemExit(f"careerbot: Telegram would refuse this text: {problems[0]}")
    send_at = None
    if args.at:
        send_at = parse_moment(args.at)
        if send_at is None:
            raise SystemExit(f"careerbot: --at {args.at!r} must be ISO 8601 with a time zone, "
                             "e.g. 2026-12-05T18:30:00+01:00")

    async def queue() -> tuple[int, int]:
        if args.dry_run:
            return 0, len(await subscribers.audience(db, topics - {"all"}, region))
        draft = await outbox.create(db, text, topics - {"all"}, send_at=send_at,
                                    event_id=args.event, region=region)
        return draft, await outbox.confirm(db, draft)

    draft, count = asyncio.run(queue())
    if args.dry_run:
        print(f"dry run: {count} recipient(s); nothing queued\n\n{text}")
    elif count == 0:
        print("nobody follows these topics: nothing to send")
    else:
        print(f"broadcast #{draft} queued for {count} recipient(s); the running bot sends it")
    return EXIT_OK


def cmd_broadcasts(args: argparse.Namespace) -> int:
    """The latest broadcasts and their delivery reports."""
    from careerbot.announcements import report
    from careerbot.storage import outbox

    db = storage_sessions()
    found = asyncio.run(outbox.recent(db, limit=args.limit))
    for summary in found:
        print(visible_text(report(summary)) + "\n")
    if not found:
        print("no broadcast yet")
    return EXIT_OK


def cmd_events(args: argparse.Namespace) -> int:
    """Write the events added from Telegram as YAML in the events.yaml format (for the archive)."""
    from careerbot.storage import events as stored_events

    db = storage_sessions()
    # Cancelled events are left out: the file format has no way to say so.
    found = [s for s in asyncio.run(stored_events.every(db)) if s.state == stored_events.LIVE]
    text = events_yaml(s.event for s in found)
    if args.file in (None, "-"):
        sys.stdout.write(text)
    else:
        Path(args.file).write_text(text, encoding="utf-8")
        print(f"careerbot : {len(found)} événement(s) écrit(s) dans {args.file}", file=sys.stderr)
    return EXIT_OK


def events_yaml(events: Any) -> str:
    """Events in the faq/events.yaml format, times in Paris with their offset."""
    from careerbot.french_dates import PARIS

    rows = []
    for event in events:
        row: dict[str, Any] = {
            "id": event.id, "title": event.title,
            "start": event.start.astimezone(PARIS).isoformat(),
            "end": event.end.astimezone(PARIS).isoformat(), "place": event.place,
            "region": event.region or "en-ligne", "url": event.url, "tags": list(event.tags)}
        if event.related:
            row["related"] = list(event.related)
        row["description"] = event.description
        rows.append(row)
    header = ("# yaml-language-server: $schema=../careerbot/schemas/events.schema.json\n"
              "# Written by `careerbot events export`: the events added from Telegram.\n")
    return header + yaml.safe_dump({"events": rows}, sort_keys=False, allow_unicode=True,
                                   width=100)


def cmd_report(args: argparse.Namespace) -> int:
    """Unanswered questions grouped by similarity, unhelpful entries, YAML snippets."""
    from careerbot.reporting import group_questions, render
    from careerbot.storage import feedback

    _, matcher = load(faq_dir(args.faq))
    db = storage_sessions()

    async def fetch() -> tuple[list[tuple[str, str]], dict[str, tuple[int, int]]]:
        return await feedback.unanswered(db), await feedback.ratings(db)

    questions, ratings = asyncio.run(fetch())
    print(render(group_questions([q for q, _ in questions], matcher), ratings), end="")
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    """What candidates ask, in figures: as text, as JSON, or as the /stats picture (counts only)."""
    from careerbot import stats
    from careerbot.storage import stats as stored

    db = storage_sessions()
    found = asyncio.run(stored.current_figures(db))
    if args.png:
        from careerbot.chart import render_png

        try:
            Path(args.png).write_bytes(render_png(found))
        except OSError as error:
            raise SystemExit(f"careerbot: cannot write {args.png!r} "
                             f"({error.strerror or type(error).__name__})") from None
    if args.json:
        print(json.dumps(stats.as_json(found), ensure_ascii=False, indent=1))
    elif not args.png:
        print(stats.as_text(found), end="")
    else:
        print(f"{args.png} : {stats.caption(found)}")
    return EXIT_OK


def cmd_links(args: argparse.Namespace) -> int:
    """Print the deep links to publish (entries, themes, events, the route)."""
    faq, matcher = load(faq_dir(args.faq))
    for label, url in Conversation(faq, matcher).deep_links(bot_username(args)):
        print(f"{url}  {label}")
    return EXIT_OK


_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")


def bot_username(args: argparse.Namespace) -> str:
    """The bot's username for deep links: --username, else CAREERBOT_BOT_USERNAME, else asked to
    Telegram with TELEGRAM_BOT_TOKEN; exit 2 with one line when none is known or it is malformed.
    """
    env = environment()
    username = (args.username or env.get("CAREERBOT_BOT_USERNAME") or "").strip().lstrip("@")
    if not username:
        if not env.get("TELEGRAM_BOT_TOKEN"):
            print("careerbot: give the bot's username with --username NomDuBot (or set "
                  "CAREERBOT_BOT_USERNAME, or TELEGRAM_BOT_TOKEN to ask Telegram)", file=sys.stderr)
            raise SystemExit(EXIT_USAGE)
        username = asyncio.run(_bot_username(telegram_config(args)))
    if not _USERNAME.match(username):
        print(f"careerbot: {username!r} is not a Telegram username (5 to 32 letters, digits or _, "
              "starting with a letter)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)
    return username


def _now() -> datetime:
    return datetime.now(UTC)


def cmd_site(args: argparse.Namespace) -> int:
    """Build the FAQ's static site, or serve it on localhost rebuilt at every change."""
    from careerbot.site.build import SiteError, build_site, checked_faq  # Jinja2, segno: only here
    from careerbot.site.serve import serve

    directory = faq_dir(args.faq)
    username = bot_username(args)
    if args.site_action == "serve":
        try:
            serve(directory, username=username, host=args.host, port=args.port, clock=_now,
                  ready=lambda url: print(f"careerbot : le site de {directory} est sur {url} "
                                          "(Ctrl+C pour arrêter)", flush=True))
        except OSError as error:
            print(f"careerbot : impossible d'écouter sur {args.host}:{args.port} "
                  f"({error.strerror or error}) ; choisissez un autre port avec --port",
                  file=sys.stderr)
            return EXIT_USAGE
        return EXIT_OK
    faq, problems = checked_faq(directory)
    errors = [p for p in problems if p.severity == "error"]
    if faq is None:
        print(*errors, sep="\n", file=sys.stderr)
        print(f"careerbot : la FAQ de {directory} a {len(errors)} erreur(s) ; le site n'est pas "
              f"construit (`careerbot check {directory}` les liste aussi)", file=sys.stderr)
        return EXIT_PROBLEMS
    out = Path(args.out)
    try:
        written = build_site(faq, out, username=username, now=_now())
    except SiteError as error:
        print(f"careerbot: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"careerbot : site écrit dans {out}/ ({len(written)} fichiers, {len(faq.entries)} "
          "entrées) : publiez ce dossier sur un serveur web ; pour un aperçu qui suit vos "
          "modifications, `careerbot site serve`")
    return EXIT_OK


def cmd_reload(args: argparse.Namespace) -> int:
    """Ask every running instance on this database to reload the FAQ (they check every 2 s)."""
    from careerbot.storage import coordination

    problems = [p for p in check_directory(faq_dir(args.faq)) if p.severity == "error"]
    asyncio.run(coordination.ask(storage_sessions()))
    print("careerbot : rechargement demandé ; les instances en marche le font dans les 2 s.")
    if problems:
        print(f"careerbot : attention, la FAQ a {len(problems)} erreur(s) : elle sera refusée et "
              "la version précédente continuera de répondre (careerbot check).", file=sys.stderr)
        return EXIT_PROBLEMS
    return EXIT_OK


def cmd_webhook(args: argparse.Namespace) -> int:
    """Show, set or delete the bot's webhook at Telegram (for operators)."""
    from telegram import Bot

    from careerbot.telegram.bot import ALLOWED_UPDATES

    config = telegram_config(args)

    async def act() -> list[str]:
        async with Bot(config.token, base_url=config.base_url) as bot:
            if args.action == "set":
                if not config.webhook_url:
                    raise SystemExit("careerbot: set CAREERBOT_WEBHOOK_URL and "
                                     "CAREERBOT_WEBHOOK_SECRET first")
                await bot.set_webhook(config.webhook_url, secret_token=config.webhook_secret,
                                      allowed_updates=ALLOWED_UPDATES)
            elif args.action == "delete":
                await bot.delete_webhook(drop_pending_updates=False)
            info = await bot.get_webhook_info()
        error = f"{info.last_error_message} ({info.last_error_date:%Y-%m-%d %H:%M} UTC)" if (
            info.last_error_message and info.last_error_date) else "none"
        return [f"url              : {info.url or '(none: the bot uses long polling)'}",
                f"pending updates  : {info.pending_update_count}",
                f"allowed updates  : {', '.join(info.allowed_updates or ()) or 'all'}",
                f"last error       : {error}"]

    for line in asyncio.run(act()):
        print(line)
    return EXIT_OK


async def _bot_username(config: Config) -> str:
    from telegram import Bot

    from careerbot.telegram.http import bot_api_request

    async with Bot(config.token, base_url=config.base_url, request=bot_api_request(),
                   get_updates_request=bot_api_request()) as bot:
        return bot.username


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    main_parser = argparse.ArgumentParser(
        prog="careerbot", description="careerbot: questions about joining the French public "
        "service, answered from the FP21 FAQ.")
    commands = main_parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Any, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    check = command("check", cmd_check, "Check a FAQ directory and list every problem.")
    check.add_argument("directory", nargs="?", default="faq")
    check.add_argument("--strict", action="store_true", help="fail on warnings too")
    check.add_argument("--today", help=argparse.SUPPRESS)
    check.add_argument("--lang", choices=("fr", "en"), default="fr",
                       help="language of the messages (default: fr)")
    ask = command("ask", cmd_ask, "Show how the bot understands one question.")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true")
    evaluate = command("eval", cmd_eval, "Measure the matcher on a question set (YAML cases).")
    evaluate.add_argument("file")
    evaluate.add_argument("--json", action="store_true")
    cal = command("calibrate", cmd_calibrate, "Choose matcher thresholds on a development set.")
    cal.add_argument("file")
    cal.add_argument("--write", action="store_true", help="save them to FAQ_DIR/matching.yaml")
    cal.add_argument("--max-wrong", type=float, default=0.025,
                     help="budget of wrong direct answers on the set (default 0.025)")
    cal.add_argument("--max-oos", type=float, default=0.01,
                     help="budget of answered out-of-scope messages (default 0.01)")
    command("chat", cmd_chat, "Chat with the bot in the terminal.")
    run = command("run", cmd_run, "Run the bot (Telegram if TELEGRAM_BOT_TOKEN is set, else "
                  "terminal).")
    run.add_argument("--role", choices=("all", "web", "worker"),
                     help="web: answer updates; worker: send broadcasts and reminders (one at a "
                     "time, others stand by); all (default, or $CAREERBOT_ROLE): both")
    broadcast = command("broadcast", cmd_broadcast,
                        "Queue an announcement for the running bot to send.")
    source = broadcast.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="the message (Telegram HTML)")
    source.add_argument("--event", help="announce this event (of faq/events.yaml or added from "
                        "Telegram)")
    broadcast.add_argument("--topic", action="append", help="only subscribers of this topic "
                           "(repeatable; default: everyone)")
    broadcast.add_argument("--all-regions", action="store_true",
                           help="with --event: every region (default: the subscribers of the "
                           "event's region, and those who chose none)")
    broadcast.add_argument("--at", help="send later: ISO 8601 with time zone")
    broadcast.add_argument("--dry-run", action="store_true", help="count recipients only")
    listing = command("broadcasts", cmd_broadcasts, "List broadcasts with their reports.")
    listing.add_argument("--limit", type=int, default=10)
    command("subscribers", cmd_subscribers,
            "Count subscribers, in all, per topic and per region chosen.")
    command("report", cmd_report, "What users asked that the FAQ does not answer.")
    figures = command("stats", cmd_stats, "What candidates ask, in figures (counts only).")
    figures.add_argument("--json", action="store_true", help="the figures as JSON")
    figures.add_argument("--png", metavar="FILE", help="draw the /stats picture into FILE")
    events = command("events", cmd_events, "Events added from Telegram: `events export [FILE]` "
                     "writes them as YAML in the events.yaml format.")
    events.add_argument("action", choices=("export",))
    events.add_argument("file", nargs="?", help="where to write (default: standard output)")
    command("reload", cmd_reload, "Ask the running instances to reload the FAQ (keep-last-good).")
    webhook = command("webhook", cmd_webhook, "Show, set or delete the webhook at Telegram.")
    webhook.add_argument("action", choices=("info", "set", "delete"))
    links = command("links", cmd_links, "Print the t.me deep links to entries, themes and the route.")
    username_help = "the bot's username (default: $CAREERBOT_BOT_USERNAME, else asked to Telegram)"
    links.add_argument("--username", help=username_help)
    site = command("site", cmd_site, "The FAQ as a web site: build it, or serve a live preview.")
    actions = site.add_subparsers(dest="site_action", required=True, metavar="ACTION")
    build = actions.add_parser("build", help="write the static site (default: site/)",
                               description="Write the static site; fails like `careerbot check` "
                               "on a FAQ with errors.")
    build.add_argument("out", nargs="?", default="site", help="output folder (emptied first)")
    serve = actions.add_parser("serve", help="serve the site on localhost, rebuilt at every change",
                               description="Serve the site on localhost, rebuilt at every change "
                               "of the FAQ files; shows the checker's errors when there are some.")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    faq_help = "FAQ directory (default: $CAREERBOT_FAQ_DIR or ./faq)"
    for sub in (build, serve):
        sub.add_argument("--username", help=username_help)
        sub.add_argument("--faq", help=faq_help)
    for sub in commands.choices.values():
        if sub.prog.split()[-1] not in ("check", "site"):
            sub.add_argument("--faq", help=faq_help)
    return main_parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `careerbot` command."""
    args = parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except BrokenPipeError:  # `careerbot eval ... | head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    return code


if __name__ == "__main__":
    sys.exit(main())
