"""The conversation, independent of any channel: what to reply to a message or a button.

Replies are Telegram-flavoured HTML plus rows of buttons; the terminal and Telegram adapters only
render them. A button either opens a URL or carries an action payload (at most 64 bytes, the
Telegram limit) that `Conversation.act` understands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from careerbot.faq import Entry, Event, Faq
from careerbot.matching import Match, Matcher
from careerbot.normalize import looks_english
from careerbot.telegram_html import escape

Lang = str  # "fr" or "en"


@dataclass(frozen=True, slots=True)
class Button:
    """A button under a reply: an action payload or a URL."""

    label: str
    action: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """A message to show: HTML text and rows of buttons."""

    html: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    match: Match | None = None

    def actions(self) -> list[Button]:
        """The action buttons, in reading order (the terminal numbers them)."""
        return [b for row in self.buttons for b in row if b.action]


TEXTS: dict[Lang, dict[str, str]] = {
    "fr": {
        "welcome": (
            "Bonjour ! 👋 Je suis <b>careerbot</b>, l'assistant de l'association FP21.\n"
            "Je réponds à vos questions pour entrer dans la fonction publique : concours, "
            "catégories A, B, C, contrats, alternance, offres d'emploi…\n\n"
            "Écrivez simplement votre question, comme elle vient, ou parcourez les thèmes."),
        "help": (
            "<b>Comment m'utiliser</b>\n"
            "• Écrivez votre question en quelques mots : « c'est quoi un concours ? », "
            "« alternance fonction publique », « travailler sans concours »…\n"
            "• /themes : parcourir les sujets\n"
            "• /evenements : les prochains événements FP21\n"
            "Je suis un robot : pour une question personnelle, contactez FP21 sur fp21.fr."),
        "themes": "Choisissez un thème :",
        "theme": "{emoji} <b>{title}</b>\nChoisissez une question :",
        "suggest": "Je ne suis pas sûr d'avoir compris. 🤔 Vouliez-vous dire…",
        "fallback": (
            "Désolé, je n'ai pas trouvé de réponse sûre à votre message. 🤔\n"
            "• Essayez en quelques mots-clés : « concours catégorie B », « contrat sans "
            "concours », « apprentissage »…\n"
            "• Ou parcourez les thèmes ci-dessous."),
        "empty": "Je n'ai reçu aucun texte. ✍️ Écrivez votre question en quelques mots.",
        "related": "Voir aussi :",
        "event_footer": "📅 Prochain événement sur ce sujet : {event}",
        "events_upcoming": "📅 <b>Prochains événements FP21</b>",
        "events_none": ("Aucun événement FP21 n'est annoncé pour l'instant. Suivez fp21.fr pour les "
                        "prochaines dates. Les derniers événements :"),
        "unknown": "Ce contenu n'existe plus. Voici les thèmes :",
        "btn_themes": "📚 Thèmes",
        "btn_events": "📅 Événements",
        "btn_back": "⬅️ Retour",
        "btn_menu": "🏠 Menu",
    },
    "en": {
        "welcome": (
            "Hello! 👋 I'm <b>careerbot</b>, the assistant of the association FP21.\n"
            "I answer questions about getting into the French public service: exams "
            "(concours), categories A, B, C, contracts, apprenticeships, job offers…\n\n"
            "Just type your question, or browse the themes."),
        "help": (
            "<b>How to use me</b>\n"
            "• Type your question in a few words: \"how do civil service exams work\", "
            "\"jobs without an exam\"…\n"
            "• /themes: browse topics\n"
            "• /evenements: upcoming FP21 events\n"
            "I'm a bot: for a personal question, contact FP21 at fp21.fr."),
        "themes": "Pick a theme:",
        "theme": "{emoji} <b>{title}</b>\nPick a question:",
        "suggest": "I'm not sure I understood. 🤔 Did you mean…",
        "fallback": (
            "Sorry, I found no reliable answer to your message. 🤔\n"
            "• Try a few keywords: \"exam category B\", \"contract without exam\"…\n"
            "• Or browse the themes below."),
        "empty": "I received no text. ✍️ Type your question in a few words.",
        "related": "See also:",
        "event_footer": "📅 Next event on this topic: {event}",
        "events_upcoming": "📅 <b>Upcoming FP21 events</b>",
        "events_none": ("No FP21 event is announced for now. Follow fp21.fr for the next dates. "
                        "The latest events:"),
        "unknown": "This content no longer exists. Here are the themes:",
        "btn_themes": "📚 Themes",
        "btn_events": "📅 Events",
        "btn_back": "⬅️ Back",
        "btn_menu": "🏠 Menu",
    },
}

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre")
MAX_EVENTS = 3


def format_date(moment: datetime, lang: Lang = "fr") -> str:
    """A date and time as people write it ("12 mars 2025 à 18h30"), in the event's own zone."""
    if lang == "en":
        return moment.strftime("%d %B %Y, %H:%M").lstrip("0")
    day = "1er" if moment.day == 1 else str(moment.day)
    return f"{day} {MONTHS[moment.month - 1]} {moment.year} à {moment.hour}h{moment.minute:02d}"


class Conversation:
    """Builds every reply of the bot from the FAQ and the matcher."""

    def __init__(self, faq: Faq, matcher: Matcher, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.faq = faq
        self.matcher = matcher
        self.clock = clock

    def language(self, text: str, preferred: Lang | None = None) -> Lang:
        """Answer in English when the message is English, else in the user's language or French."""
        if looks_english(text):
            return "en"
        return preferred if preferred in TEXTS and not text.strip() else "fr"

    def welcome(self, lang: Lang = "fr") -> Reply:
        """The greeting with the main menu."""
        return Reply(TEXTS[lang]["welcome"], self._menu(lang))

    def help(self, lang: Lang = "fr") -> Reply:
        """How to use the bot."""
        return Reply(TEXTS[lang]["help"], self._menu(lang))

    def ask(self, text: str, lang: Lang | None = None) -> Reply:
        """Reply to a free-text message."""
        if not text.strip():
            lang = lang or "fr"
            return Reply(TEXTS[lang]["empty"], self._menu(lang))
        lang = self.language(text, lang)
        match = self.matcher.match(text)
        if match.status == "answer" and match.entry_id:
            return self.entry(match.entry_id, lang, match=match)
        if match.status == "smalltalk" and match.smalltalk_id:
            talk = next(t for t in self.faq.smalltalk if t.id == match.smalltalk_id)
            replies = talk.en_replies if lang == "en" and talk.en_replies else talk.replies
            return Reply(replies[0], self._menu(lang), match)
        if match.status == "suggest":
            rows = tuple((Button(self._question(self.faq.entry(i), lang), f"e:{i}"),)
                         for i in match.suggestions)
            return Reply(TEXTS[lang]["suggest"], (*rows, *self._menu(lang)), match)
        return Reply(TEXTS[lang]["fallback"], self._menu(lang), match)

    def entry(self, entry_id: str, lang: Lang = "fr", *, match: Match | None = None) -> Reply:
        """An entry's answer, its links, related entries and the next matching event."""
        entry = self.faq.by_id.get(entry_id)
        if entry is None:
            return Reply(TEXTS[lang]["unknown"], self._theme_rows(lang))
        answer = entry.en.answer if lang == "en" and entry.en else entry.answer
        parts = [answer]
        event = self._next_event(entry)
        if event is not None:
            parts.append(TEXTS[lang]["event_footer"].format(event=self._event_line(event, lang)))
        rows: list[tuple[Button, ...]] = [(Button(f"🔗 {link.label}", url=link.url),)
                                          for link in entry.links]
        rows.extend((Button(f"➡️ {self._question(self.faq.entry(r), lang)}", f"e:{r}"),)
                    for r in entry.related if r in self.faq.by_id)
        rows.append((Button(TEXTS[lang]["btn_back"], f"t:{entry.theme}"),
                     Button(TEXTS[lang]["btn_menu"], "menu")))
        return Reply("\n\n".join(parts), tuple(rows), match)

    def themes(self, lang: Lang = "fr") -> Reply:
        """The list of themes."""
        return Reply(TEXTS[lang]["themes"], self._theme_rows(lang))

    def theme(self, theme_id: str, lang: Lang = "fr") -> Reply:
        """A theme's questions."""
        theme = next((t for t in self.faq.themes if t.id == theme_id), None)
        if theme is None:
            return Reply(TEXTS[lang]["unknown"], self._theme_rows(lang))
        title = theme.en_title if lang == "en" and theme.en_title else theme.title
        rows = tuple((Button(self._question(e, lang), f"e:{e.id}"),)
                     for e in self.faq.theme_entries(theme.id))
        back = (Button(TEXTS[lang]["btn_back"], "themes"),)
        return Reply(TEXTS[lang]["theme"].format(emoji=theme.emoji, title=escape(title)),
                     (*rows, back))

    def events(self, lang: Lang = "fr") -> Reply:
        """Upcoming events, or the latest ones when none is announced."""
        now = self.clock()
        upcoming = self.faq.upcoming_events(now)[:MAX_EVENTS]
        shown = upcoming or self.faq.past_events(now)[:MAX_EVENTS]
        title = TEXTS[lang]["events_upcoming"] if upcoming else TEXTS[lang]["events_none"]
        lines = [title, *(f"• {self._event_line(e, lang)}" for e in shown)]
        rows = tuple((Button(f"🔗 {e.title[:40]}", url=e.url),) for e in shown)
        return Reply("\n".join(lines), (*rows, (Button(TEXTS[lang]["btn_menu"], "menu"),)))

    def act(self, action: str, lang: Lang = "fr") -> Reply:
        """Follow a button's action payload; an unknown or stale payload shows the themes."""
        kind, _, value = action.partition(":")
        if kind == "e":
            return self.entry(value, lang)
        if kind == "t":
            return self.theme(value, lang)
        handlers = {"themes": self.themes, "events": self.events, "menu": self.welcome,
                    "help": self.help}
        handler = handlers.get(action)
        return handler(lang) if handler else Reply(TEXTS[lang]["unknown"], self._theme_rows(lang))

    def _menu(self, lang: Lang) -> tuple[tuple[Button, ...], ...]:
        return ((Button(TEXTS[lang]["btn_themes"], "themes"),
                 Button(TEXTS[lang]["btn_events"], "events")),)

    def _theme_rows(self, lang: Lang) -> tuple[tuple[Button, ...], ...]:
        return tuple(
            (Button(f"{t.emoji} {t.en_title if lang == 'en' and t.en_title else t.title}",
                    f"t:{t.id}"),) for t in self.faq.themes)

    @staticmethod
    def _question(entry: Entry, lang: Lang) -> str:
        return entry.en.question if lang == "en" and entry.en else entry.question

    def _next_event(self, entry: Entry) -> Event | None:
        for event in self.faq.upcoming_events(self.clock()):
            if entry.id in event.related or set(entry.tags) & set(event.tags):
                return event
        return None

    def _event_line(self, event: Event, lang: Lang) -> str:
        return (f"<b>{escape(event.title)}</b>, {format_date(event.start, lang)}, "
                f"{escape(event.place)}")
