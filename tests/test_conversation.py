"""The conversation core and its terminal rendering, on the mini FAQ fixture."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from careerbot import callbacks as cb
from careerbot.conversation import Conversation, format_date
from careerbot.faq_loader import load_faq
from careerbot.matching import Matcher, Settings
from careerbot.telegram_html import check_html
from careerbot.terminal import chat, render, respond


def conversation(faq_dir: Path, now: datetime, *, team_inbox: bool = False) -> Conversation:
    """A conversation over the fixture FAQ at a fixed moment."""
    faq, _ = load_faq(faq_dir)
    settings = Settings(answer_min=0.5, margin_min=0.0, suggest_min=0.3)
    return Conversation(faq, Matcher(faq, settings), clock=lambda: now, team_inbox=team_inbox)


NOW = datetime(2026, 11, 26, tzinfo=UTC)
MENU = ["1l", "1r:0", "1v", "1h"]


def test_answer_has_links_related_and_next_event(faq_dir: Path) -> None:
    """An answer shows its links as URL buttons, related entries, and the next event on its tags."""
    reply = conversation(faq_dir, NOW).entry("concours-definition")
    assert reply.html.startswith("Le <b>concours</b> est la voie normale")
    assert "📅 Prochain événement sur ce sujet : <b>Soirée des futurs agents</b>, 12 mars 2030" in reply.html
    urls = [b.url for row in reply.buttons for b in row if b.url]
    assert urls == ["https://www.service-public.fr/particuliers/vosdroits/F434"]
    assert [b.action for b in reply.actions()] == ["1e:contractuel", "1t:acces", "1m"]
    assert check_html(reply.html).errors == ()


def test_answer_buttons_follow_the_language_and_the_footer_the_clock(faq_dir: Path) -> None:
    """One conversation answers an entry in each language with that language's buttons, the
    same buttons every time, and the event footer of the moment (the buttons are built once).
    """
    now = [NOW]
    faq, _ = load_faq(faq_dir)
    talk = Conversation(faq, Matcher(faq, Settings()), clock=lambda: now[0])
    french, english = talk.entry("concours-definition"), talk.entry("concours-definition", "en")
    assert [b.label for b in french.buttons[-1]] == ["⬅️ Retour", "🏠 Menu"]
    assert [b.label for b in english.buttons[-1]] == ["⬅️ Back", "🏠 Menu"]
    assert talk.entry("concours-definition").buttons == french.buttons
    assert "Prochain événement" in french.html
    now[0] = datetime(2031, 1, 1, tzinfo=UTC)  # every event of the fixture is over
    later = talk.entry("concours-definition")
    assert "Prochain événement" not in later.html
    assert later.buttons == french.buttons


def test_english_question_gets_english_answer(faq_dir: Path) -> None:
    """A message in English is answered with the entry's English version."""
    reply = conversation(faq_dir, NOW).ask("how do civil service exams work")
    assert reply.html.startswith("The <b>concours</b> is the normal way in.")


def test_small_talk_reply(faq_dir: Path) -> None:
    """A greeting gets the small-talk reply and the menu."""
    reply = conversation(faq_dir, NOW).ask("bonjour")
    assert reply.html == "Bonjour ! Posez votre question."
    assert [b.action for b in reply.actions()] == MENU


def test_fallback_offers_a_way_forward(faq_dir: Path) -> None:
    """A message the bot cannot place gets tips and the themes/events menu, never an error."""
    reply = conversation(faq_dir, NOW).ask("qwerty zxcvb")
    assert reply.html.startswith("Désolé, je n'ai pas trouvé de réponse sûre")
    assert [b.action for b in reply.actions()] == MENU


def test_empty_message(faq_dir: Path) -> None:
    """An empty message is answered politely."""
    assert conversation(faq_dir, NOW).ask("   ").html.startswith("Je n'ai reçu aucun texte")


def test_themes_and_back(faq_dir: Path) -> None:
    """Themes list their entries; each level has a way back."""
    talk = conversation(faq_dir, NOW)
    themes = talk.themes()
    assert [b.action for b in themes.actions()] == ["1t:acces", "1t:contrats"]
    theme = talk.act("1t:acces")
    assert [b.action for b in theme.actions()] == ["1e:concours-definition", "1e:categories-a-b-c",
                                                     "1l"]
    assert talk.theme("nope").html == "Ce contenu n'existe plus. Voici les thèmes :"


def test_stale_or_forged_action_shows_themes(faq_dir: Path) -> None:
    """An unknown payload (old button, forged data) leads back to the themes."""
    talk = conversation(faq_dir, NOW)
    for action in ("1e:nope", "1t:nope", "e:nope", "zzz", ""):
        assert talk.act(action).html == "Ce contenu n'existe plus. Voici les thèmes :"


def test_events_upcoming_then_none(faq_dir: Path) -> None:
    """Upcoming events are listed; when none is left, the latest ones are shown instead."""
    upcoming = conversation(faq_dir, NOW).events()
    assert "Prochains événements FP21" in upcoming.html
    assert "Soirée des futurs agents</b>, 12 mars 2030 à 18h30, Paris" in upcoming.html
    later = conversation(faq_dir, datetime(2031, 1, 1, tzinfo=UTC)).events()
    assert later.html.startswith("Aucun événement FP21 n'est annoncé pour l'instant.")
    assert "Mission de FP21 au Québec" in later.html


def test_format_date_in_french() -> None:
    """Dates read as in French, in the event's own time zone."""
    assert format_date(datetime.fromisoformat("2030-05-01T09:05:00+02:00")) == \
        "1er mai 2030 à 9h05"


@pytest.mark.parametrize("text", ["<script>alert(1)</script>", "a & b <b>", "x" * 5000])
def test_user_text_never_breaks_html(faq_dir: Path, text: str) -> None:
    """Whatever a user types, every reply is HTML Telegram accepts."""
    reply = conversation(faq_dir, NOW).ask(text)
    assert check_html(reply.html).errors == ()


def test_terminal_numbers_choices_and_follows_them(faq_dir: Path) -> None:
    """In the terminal, buttons are numbered and a number follows the button."""
    talk = conversation(faq_dir, NOW)
    themes = talk.themes()
    assert "  [1] 🏛️ Accéder à la fonction publique" in render(themes)
    theme = respond(talk, themes, "1")
    assert theme.html.startswith("🏛️ <b>Accéder à la fonction publique</b>")
    answer = respond(talk, theme, "1")
    assert "🔗 Service-Public.fr : https://www.service-public.fr/" in render(answer)


def test_terminal_chat_session(faq_dir: Path) -> None:
    """A scripted terminal session: welcome, a question, a command, then quit."""
    out = io.StringIO()
    chat(conversation(faq_dir, NOW), io.StringIO("c koi un concours\n/themes\n/quit\n"), out)
    text = out.getvalue()
    assert text.startswith("Bonjour ! 👋 Je suis careerbot")
    assert "Le concours est la voie normale pour devenir fonctionnaire." in text
    assert "Choisissez un thème :" in text
    assert text.endswith("À bientôt ! 👋\n")


def test_fallback_offers_the_team_when_an_inbox_is_set(faq_dir: Path) -> None:
    """With an organisers' chat configured, the fallback offers to send the question there."""
    reply = conversation(faq_dir, NOW, team_inbox=True).ask("qwerty zxcvb")
    assert reply.actions()[0].action == "1q"


def test_start_payloads(faq_dir: Path) -> None:
    """Deep links open an entry, a theme or the route; anything else shows the welcome."""
    talk = conversation(faq_dir, NOW)
    assert talk.start("contractuel").html.startswith("Oui, sur <i>contrat</i>")
    assert talk.start("theme-contrats").html.startswith("📄 <b>Contrats</b>")
    assert talk.start("parcours").html.startswith("💡 <b>Étape 1/2 : Je m'inspire</b>")
    assert talk.start("nope").html == talk.welcome().html
    assert talk.start("").html == talk.welcome().html


def test_route_steps_next_and_back(faq_dir: Path) -> None:
    """The route goes forward and back; its steps point at entries and official sites."""
    talk = conversation(faq_dir, NOW)
    first = talk.route(0)
    assert [b.action for b in first.actions()] == ["1e:concours-definition", "1r:1", "1m"]
    last = talk.act("1r:1")
    assert last.html.startswith("🔎 <b>Étape 2/2 : Je découvre</b>")
    assert [b.action for b in last.actions()] == ["1e:contractuel", "1r:0", "1m"]
    assert [b.url for row in last.buttons for b in row if b.url] == ["https://choisirleservicepublic.gouv.fr/"]
    assert talk.act("1r:99").html == last.html  # out of range: the nearest step


def test_deep_links(faq_dir: Path) -> None:
    """Every entry, theme, event and the route have a t.me deep link within Telegram's payload
    rules.
    """
    links = conversation(faq_dir, NOW).deep_links("careerbot_test_bot")
    assert ("Parcours", "https://t.me/careerbot_test_bot?start=parcours") in links
    assert ("Thème : Contrats", "https://t.me/careerbot_test_bot?start=theme-contrats") in links
    assert ("Événement : Soirée des futurs agents",
            "https://t.me/careerbot_test_bot?start=event-soiree-2030") in links
    assert len(links) == 1 + 2 + 3 + 2
    import re
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,64}", url.split("start=")[1]) for _, url in links)


def test_event_deep_link_shows_the_event(faq_dir: Path) -> None:
    """start=event-<id> shows that event with its link, and its .ics while it is to come."""
    talk = conversation(faq_dir, NOW)
    reply = talk.start("event-soiree-2030")
    assert reply.html.startswith("📅 <b>Soirée des futurs agents</b>, 12 mars 2030 à 18h30")
    assert "1c:soiree-2030" in [b.action for b in reply.actions()]
    past = talk.start("event-mission-quebec-2019")
    assert "1c:mission-quebec-2019" not in [b.action for b in past.actions()]
    assert any((b.url or "").startswith("https://") for row in past.buttons for b in row)
    assert talk.start("event-nope").html == talk.welcome().html


def test_upcoming_event_offers_a_calendar_file(faq_dir: Path) -> None:
    """Upcoming events have an 'add to calendar' button giving a valid .ics."""
    talk = conversation(faq_dir, NOW)
    assert "1c:soiree-2030" in [b.action for b in talk.events().actions()]
    name, content = talk.ics("soiree-2030") or ("", b"")
    assert name == "soiree-2030.ics"
    text = content.decode()
    assert "DTSTART:20300312T173000Z\r\n" in text
    assert "SUMMARY:Soirée des futurs agents\r\n" in text
    assert talk.ics("nope") is None


def test_inline_answers(faq_dir: Path) -> None:
    """Inline mode offers the best entries; small talk and gibberish offer none."""
    talk = conversation(faq_dir, NOW)
    found = talk.inline("c koi un concours")
    assert found[0][0].id == "concours-definition"
    assert talk.inline("bonjour") == []
    assert len(talk.inline("")) == 3


def with_details(faq_dir: Path) -> Path:
    """The fixture FAQ where concours-definition keeps its essentials and has details (fr, en)."""
    path = faq_dir / "acces.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("    links:\n      - label: Service-Public.fr",
                        "    details: |-\n      Écrits puis oraux, devant un <b>jury</b>.\n"
                        "    links:\n      - label: Service-Public.fr", 1)
    text = text.replace("      answer: The <b>concours</b> is the normal way in.",
                        "      answer: The <b>concours</b> is the normal way in.\n"
                        "      details: Written tests, then orals.", 1)
    path.write_text(text, encoding="utf-8")
    return faq_dir


def test_answer_with_details_keeps_to_one_screen(faq_dir: Path) -> None:
    """"Plus de détails" comes first; the related entries wait in the details message."""
    reply = conversation(with_details(faq_dir), NOW).entry("concours-definition")
    assert reply.buttons[0][0].label == "📖 Plus de détails"
    assert [b.action for b in reply.actions()] == ["1d:concours-definition", "1t:acces", "1m"]
    assert "Écrits puis oraux" not in reply.html


def test_details_message_has_the_rest_and_related(faq_dir: Path) -> None:
    """The details button shows the rest of the answer with the related entries, in the language."""
    talk = conversation(with_details(faq_dir), NOW)
    reply = talk.act("1d:concours-definition")
    assert reply.html == "Écrits puis oraux, devant un <b>jury</b>."
    assert [b.action for b in reply.actions()] == ["1e:contractuel", "1t:acces", "1m"]
    assert talk.act("1d:concours-definition", "en").html == "Written tests, then orals."


def test_details_of_an_entry_without_them_show_the_entry(faq_dir: Path) -> None:
    """A stale or forged d: button falls back to the entry itself, or the themes if unknown."""
    talk = conversation(faq_dir, NOW)
    assert talk.act("1d:contractuel").html == talk.entry("contractuel").html
    assert talk.act("1d:nope").html.startswith("Ce contenu n'existe plus")


@pytest.mark.parametrize("forged", ["r:²", "r:١", "r:-1", "r:", "r:1x", "1r:²", "1r:-1", "1r:1x",
                                    "1r:1:2", "9r:1"])
def test_forged_route_payloads_show_the_themes(faq_dir: Path, forged: str) -> None:
    """A route button whose step is not ASCII digits is stale or forged: the themes, no crash."""
    reply = conversation(faq_dir, NOW).act(forged)
    assert reply.html.startswith("Ce contenu n'existe plus")


def test_terminal_choice_accepts_ascii_digits_only(faq_dir: Path) -> None:
    """Typing "²" in the terminal chat is a question, not a (crashing) choice number."""
    talk = conversation(faq_dir, NOW)
    menu = talk.welcome()
    assert respond(talk, menu, "1").html == talk.act("1l").html
    assert respond(talk, menu, "²").match is not None


def test_terminal_number_beside_the_choices_says_which_there_are(faq_dir: Path) -> None:
    """"3" under a single choice is a mistyped choice, not a question: the bot says the range
    and keeps the same choices, so "1" still works.
    """
    talk = conversation(faq_dir, NOW)
    events = talk.follow(cb.Events())
    again = respond(talk, events, "3")
    count = len(events.actions())
    assert again.html == f"Tapez un numéro entre 1 et {count}, ou écrivez votre question."
    assert again.actions() == events.actions()
    assert respond(talk, again, "1").html == talk.act(events.actions()[0].action or "").html
