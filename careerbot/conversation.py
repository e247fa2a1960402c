"""The conversation, independent of any channel: what to reply to a message or a button.

Replies are Telegram-flavoured HTML plus rows of buttons; the terminal and Telegram adapters only
render them. A button either opens a URL or carries an action payload encoded by
`careerbot.callbacks` (at most 64 bytes, the Telegram limit) that `Conversation.act` follows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from careerbot import callbacks as cb
from careerbot.agenda import Agenda
from careerbot.calendar import event_ics, ics_filename
from careerbot.callbacks import encode
from careerbot.faq import Entry, Event, Faq, GlossaryTerm
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
            "• Organisateur FP21 ? /monid donne votre identifiant, à transmettre à l'équipe\n"
            "Je suis un robot : pour une question personnelle, contactez FP21 sur fp21.fr.\n"
            "🔒 Je garde vos abonnements, et vos questions sans réponse et avis sans votre nom ni "
            "vos coordonnées. /oublier efface abonnements, historique, et questions et avis des "
            "30 derniers jours."),
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
        "button_gone": "Ce bouton ne fonctionne plus. 🙏 Tapez /start pour reprendre.",
        "btn_themes": "📚 Thèmes",
        "btn_events": "📅 Événements",
        "btn_back": "⬅️ Retour",
        "btn_menu": "🏠 Menu",
        "btn_route": "🧭 Parcours",
        "btn_help": "❓ Aide",
        "btn_prev": "⬅️ Étape précédente",
        "btn_next": "Étape suivante ➡️",
        "btn_ics": "📆 Ajouter à mon agenda",
        "btn_team": "📨 Transmettre ma question à l'équipe",
        "btn_details": "📖 Plus de détails",
        "route_step": "{emoji} <b>Étape {number}/{total} : {title}</b>\n{text}",
        "team_sent": ("Merci, votre question a été transmise à l'équipe FP21, sans votre nom. ✅ "
                      "Elle servira à enrichir mes réponses. Pour une réponse personnelle, "
                      "écrivez à FP21 via fp21.fr."),
        "team_nothing": "Il n'y a pas de question à transmettre. Écrivez-la d'abord. ✍️",
        "team_capped": ("Vous avez déjà transmis plusieurs questions aujourd'hui : l'équipe FP21 "
                        "les lira. 🙏 Pour une réponse personnelle, écrivez-lui via fp21.fr."),
        "team_message": "❓ Question sans réponse, transmise à la demande d'un utilisateur :\n{question}",
        "not_text": ("Je ne lis que les messages écrits. ✍️ Posez votre question en quelques mots, "
                     "ou tapez /themes pour parcourir les sujets."),
        "slow_down": "Doucement 🙂 Je réponds à vos messages un par un : patientez quelques secondes.",
        "inline_more": "Plus de réponses : écrivez-moi en privé.",
        "unknown_command": ("Je ne connais pas cette commande. 🤔 Écrivez simplement votre question, "
                            "ou tapez /aide pour voir ce que je sais faire."),
        "error": "Oups, un souci de mon côté. 🙏 Réessayez dans un instant.",
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
            "• FP21 organiser? /monid gives your id, to send to the team\n"
            "I'm a bot: for a personal question, contact FP21 at fp21.fr.\n"
            "🔒 I keep your subscriptions, and unanswered questions and ratings without your name "
            "or contact details. /oublier erases subscriptions, history, and the questions and "
            "ratings of the last 30 days."),
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
        "button_gone": "This button no longer works. 🙏 Type /start to start again.",
        "btn_themes": "📚 Themes",
        "btn_events": "📅 Events",
        "btn_back": "⬅️ Back",
        "btn_menu": "🏠 Menu",
        "btn_route": "🧭 Route",
        "btn_help": "❓ Help",
        "btn_prev": "⬅️ Previous step",
        "btn_next": "Next step ➡️",
        "btn_ics": "📆 Add to my calendar",
        "btn_team": "📨 Send my question to the team",
        "btn_details": "📖 More details",
        "route_step": "{emoji} <b>Step {number}/{total}: {title}</b>\n{text}",
        "team_sent": ("Thanks, your question was sent to the FP21 team, without your name. ✅ "
                      "It will help improve my answers. For a personal answer, contact FP21 via "
                      "fp21.fr."),
        "team_nothing": "There is no question to send. Type it first. ✍️",
        "team_capped": ("You have already sent several questions today: the FP21 team will read "
                        "them. 🙏 For a personal answer, contact FP21 via fp21.fr."),
        "not_text": ("I only read text messages. ✍️ Ask your question in a few words, or type "
                     "/themes to browse topics."),
        "slow_down": "Easy 🙂 I answer your messages one at a time: please wait a few seconds.",
        "inline_more": "More answers: write to me in private.",
        "unknown_command": ("I don't know this command. 🤔 Just type your question, or /help to "
                            "see what I can do."),
        "error": "Oops, something went wrong on my side. 🙏 Please try again in a moment.",
    },
}

# Commands shown in Telegram's menu: (command, French description, English description).
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("start", "Accueil et menu", "Welcome and menu"),
    ("themes", "Parcourir les sujets", "Browse topics"),
    ("parcours", "Le parcours : je m'inspire, je découvre, je postule",
     "The route: inspire, discover, apply"),
    ("evenements", "Les prochains événements FP21", "Upcoming FP21 events"),
    ("abonner", "Recevoir les annonces FP21", "Get FP21 announcements"),
    ("mesabonnements", "Mes abonnements", "My subscriptions"),
    ("desabonner", "Ne plus recevoir d'annonces", "Stop announcements"),
    ("oublier", "Effacer mes données", "Erase my data"),
    ("monid", "Mon identifiant Telegram (organisateurs)", "My Telegram id (organisers)"),
    ("aide", "Comment m'utiliser", "How to use me"),
    ("help", "Comment m'utiliser (English)", "How to use me"),
)

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
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 team_inbox: bool = False, version: str | None = None,
                 agenda: Agenda | None = None) -> None:
        self.faq = faq
        # Events come from the agenda (the FAQ's and the organisers' stored ones), not faq.events.
        self.agenda = agenda if agenda is not None else Agenda(faq.events)
        self.matcher = matcher
        self.clock = clock
        self.team_inbox = team_inbox  # an organisers' chat receives questions users send on
        self.version = version  # which FAQ answers ("3f2a9c… of 30/11 09:12"), shown by /aide
        self._rows_built: dict[tuple[str, Lang], tuple[tuple[Button, ...], ...]] = {}

    @staticmethod
    def language(text: str) -> Lang:
        """Answer in the message's language: English when it is English, French otherwise."""
        return "en" if looks_english(text) else "fr"

    def welcome(self, lang: Lang = "fr") -> Reply:
        """The greeting with the main menu."""
        return Reply(TEXTS[lang]["welcome"], self._menu(lang))

    def help(self, lang: Lang = "fr") -> Reply:
        """How to use the bot (and, in small print, which FAQ version answers)."""
        version = f"\n<i>FAQ {escape(self.version)}</i>" if self.version else ""
        return Reply(TEXTS[lang]["help"] + version, self._menu(lang))

    def ask(self, text: str, lang: Lang | None = None) -> Reply:
        """Reply to a free-text message."""
        if not text.strip():
            lang = lang or "fr"
            return Reply(TEXTS[lang]["empty"], self._menu(lang))
        lang = self.language(text)
        match = self.matcher.match(text)
        if match.glossary:
            return self.definition(match.glossary, lang, match)
        if match.status == "answer" and match.entry_id:
            return self.entry(match.entry_id, lang, match=match)
        if match.status == "smalltalk" and match.smalltalk_id:
            talk = next(t for t in self.faq.smalltalk if t.id == match.smalltalk_id)
            replies = talk.en_replies if lang == "en" and talk.en_replies else talk.replies
            return Reply(replies[0], self._menu(lang), match)
        if match.status == "suggest":
            choices = tuple((Button(self._question(self.faq.entry(i), lang),
                                    encode(cb.OpenEntry(i))),)
                            for i in match.suggestions)
            return Reply(TEXTS[lang]["suggest"], (*choices, *self._menu(lang)), match)
        rows = self._menu(lang)
        if self.team_inbox:
            rows = ((Button(TEXTS[lang]["btn_team"], encode(cb.SendToTeam())),), *rows)
        return Reply(TEXTS[lang]["fallback"], rows, match)

    def start(self, payload: str, lang: Lang = "fr") -> Reply:
        """/start, with an optional deep-link payload: an entry id, theme-<id> or parcours."""
        if payload == "parcours":
            return self.route(0, lang)
        if payload.startswith("theme-"):
            return self.theme(payload.removeprefix("theme-"), lang)
        if payload in self.faq.by_id:
            return self.entry(payload, lang)
        if payload.startswith("event-"):
            return self.event(payload.removeprefix("event-"), lang)
        return self.welcome(lang)

    def deep_links(self, username: str) -> list[tuple[str, str]]:
        """Every deep link FP21 can publish: (what it opens, t.me URL)."""
        base = f"https://t.me/{username}?start="
        links = [("Parcours", base + "parcours")]
        links += [(f"Thème : {t.title}", f"{base}theme-{t.id}") for t in self.faq.themes]
        links += [(e.question, base + e.id) for e in self.faq.entries]
        links += [(f"Événement : {e.title}", f"{base}event-{e.id}") for e in self.faq.events]
        return links

    def event(self, event_id: str, lang: Lang = "fr") -> Reply:
        """One event (a deep link printed on its flyer): when, where, what, its link and .ics."""
        event = self.agenda.find(event_id)
        if event is None:
            return self.welcome(lang)
        t = TEXTS[lang]
        rows: list[tuple[Button, ...]] = [(Button(f"🔗 {event.title[:40]}", url=event.url),)]
        if event in self.agenda.upcoming(self.clock()):
            rows.append((Button(t["btn_ics"], encode(cb.Calendar(event.id))),))
        rows.append((Button(t["btn_events"], encode(cb.Events())), Button(t["btn_menu"], encode(cb.Menu()))))
        html = f"📅 {self._event_line(event, lang)}\n\n{escape(event.description)}"
        return Reply(html, tuple(rows))

    def route(self, index: int, lang: Lang = "fr") -> Reply:
        """A step of the guided route, with its entries, official sites and next/back."""
        steps = self.faq.route
        if not steps:
            return self.themes(lang)
        index = max(0, min(index, len(steps) - 1))
        step = steps[index]
        title = step.en_title if lang == "en" and step.en_title else step.title
        text = step.en_text if lang == "en" and step.en_text else step.text
        t = TEXTS[lang]
        html = t["route_step"].format(emoji=step.emoji, number=index + 1, total=len(steps),
                                      title=escape(title), text=text)
        rows: list[tuple[Button, ...]] = [
            (Button(f"➡️ {self._question(self.faq.entry(i), lang)}", encode(cb.OpenEntry(i))),)
            for i in step.entries if i in self.faq.by_id]
        rows.extend((Button(f"🔗 {link.label}", url=link.url),) for link in step.links)
        nav = []
        if index > 0:
            nav.append(Button(t["btn_prev"], encode(cb.RouteStep(index - 1))))
        if index < len(steps) - 1:
            nav.append(Button(t["btn_next"], encode(cb.RouteStep(index + 1))))
        rows.append(tuple(nav))
        rows.append((Button(t["btn_menu"], encode(cb.Menu())),))
        return Reply(html, tuple(row for row in rows if row))

    def ics(self, event_id: str) -> tuple[str, bytes] | None:
        """The calendar file of an event, or None if the event is unknown."""
        event = self.agenda.find(event_id)
        if event is None:
            return None
        return ics_filename(event), event_ics(event, now=self.clock())

    def inline(self, query: str, lang: Lang = "fr", limit: int = 3) -> list[tuple[Entry, str]]:
        """The best entries to share for an inline query, with their answer in the right language."""
        if not query.strip():
            return [(e, self._shared(e, lang)) for e in self.faq.entries[:limit]]
        lang = self.language(query)
        match = self.matcher.match(query)
        if match.status in ("smalltalk", "fallback"):
            return []
        ids = [i for i, _ in match.ranking if i in self.faq.by_id]
        if match.entry_id and match.entry_id not in ids:  # a definition request has no ranking
            ids.insert(0, match.entry_id)
        ids = ids[:limit]
        return [(self.faq.entry(i), self._shared(self.faq.entry(i), lang)) for i in ids]

    def _shared(self, entry: Entry, lang: Lang) -> str:
        """An answer to share inline, with the next event on its topic (as under answers)."""
        event = self._next_event(entry)
        if event is None:
            return self._answer(entry, lang)
        return (f"{self._answer(entry, lang)}\n\n"
                + TEXTS[lang]["event_footer"].format(event=self._event_line(event, lang)))

    def team_message(self, question: str) -> str:
        """What the organisers' chat receives (in French, their language): the question only."""
        return TEXTS["fr"]["team_message"].format(question=escape(question[:3000]))

    def text(self, key: str, lang: Lang = "fr") -> Reply:
        """A fixed message with the menu (not_text, slow_down, team_sent...)."""
        return Reply(TEXTS[lang][key], self._menu(lang))

    def entry(self, entry_id: str, lang: Lang = "fr", *, match: Match | None = None) -> Reply:
        """An entry's answer, its links and the next matching event.

        When the entry has details, a "Plus de détails" button comes first and the related
        entries wait in the details message: the answer keeps to one phone screen.
        """
        entry = self.faq.by_id.get(entry_id)
        if entry is None:
            return Reply(TEXTS[lang]["unknown"], self._theme_rows(lang))
        html = self._answer(entry, lang)
        event = self._next_event(entry)
        if event is not None:
            footer = TEXTS[lang]["event_footer"].format(event=self._event_line(event, lang))
            html = f"{html}\n\n{footer}"
        return Reply(html, self._entry_rows(entry, lang), match)

    def _entry_rows(self, entry: Entry, lang: Lang) -> tuple[tuple[Button, ...], ...]:
        # The buttons of an answer depend on the FAQ only, which this conversation never
        # changes (a reload makes a new one): built once per entry and language.
        rows = self._rows_built.get((entry.id, lang))
        if rows is None:
            has_details = bool(self._details(entry, lang))
            built: list[tuple[Button, ...]] = []
            if has_details:
                built.append((Button(TEXTS[lang]["btn_details"], encode(cb.Details(entry.id))),))
            built.extend((Button(f"🔗 {link.label}", url=link.url),) for link in entry.links)
            if not has_details:
                built.extend(self._related_rows(entry, lang))
            built.append(self._back_row(entry, lang))
            rows = self._rows_built[(entry.id, lang)] = tuple(built)
        return rows

    def details(self, entry_id: str, lang: Lang = "fr") -> Reply:
        """The second message of an entry: the rest of the answer, then the related entries."""
        entry = self.faq.by_id.get(entry_id)
        if entry is None or not self._details(entry, lang):
            return self.entry(entry_id, lang)
        rows = (*self._related_rows(entry, lang), self._back_row(entry, lang))
        return Reply(self._details(entry, lang), rows)

    def definition(self, term_ids: tuple[str, ...], lang: Lang = "fr",
                   match: Match | None = None) -> Reply:
        """A glossary definition (two for an ambiguous acronym), with buttons to the full entries."""
        terms = [t for t in self.faq.glossary if t.id in term_ids]
        if not terms:
            return self.themes(lang)
        html = "\n".join(f"📘 {self._definition_text(term, lang)}" for term in terms)
        targets = dict.fromkeys(t.entry for t in terms if t.entry and t.entry in self.faq.by_id)
        rows = tuple((Button(f"➡️ {self._question(self.faq.entry(i), lang)}",
                             encode(cb.OpenEntry(i))),) for i in targets)
        return Reply(html, (*rows, *self._menu(lang)), match)

    @staticmethod
    def _definition_text(term: GlossaryTerm, lang: Lang) -> str:
        return term.en if lang == "en" else term.fr

    def _related_rows(self, entry: Entry, lang: Lang) -> list[tuple[Button, ...]]:
        return [(Button(f"➡️ {self._question(self.faq.entry(r), lang)}",
                        encode(cb.OpenEntry(r))),) for r in entry.related if r in self.faq.by_id]

    @staticmethod
    def _back_row(entry: Entry, lang: Lang) -> tuple[Button, ...]:
        return (Button(TEXTS[lang]["btn_back"], encode(cb.OpenTheme(entry.theme))),
                Button(TEXTS[lang]["btn_menu"], encode(cb.Menu())))

    def themes(self, lang: Lang = "fr") -> Reply:
        """The list of themes."""
        return Reply(TEXTS[lang]["themes"], self._theme_rows(lang))

    def theme(self, theme_id: str, lang: Lang = "fr") -> Reply:
        """A theme's questions."""
        theme = next((t for t in self.faq.themes if t.id == theme_id), None)
        if theme is None:
            return Reply(TEXTS[lang]["unknown"], self._theme_rows(lang))
        title = theme.en_title if lang == "en" and theme.en_title else theme.title
        rows = tuple((Button(self._question(e, lang), encode(cb.OpenEntry(e.id))),)
                     for e in self.faq.theme_entries(theme.id))
        back = (Button(TEXTS[lang]["btn_back"], encode(cb.Themes())),)
        return Reply(TEXTS[lang]["theme"].format(emoji=theme.emoji, title=escape(title)),
                     (*rows, back))

    def events(self, lang: Lang = "fr", *,
               controls: Callable[[Event], tuple[Button, ...]] | None = None,
               limit: int = MAX_EVENTS) -> Reply:
        """Upcoming events, or the latest ones when none is announced; `controls` adds a row of
        buttons under each upcoming event (the organisers' edit, cancel and announce).
        """
        now = self.clock()
        upcoming = self.agenda.upcoming(now)[:limit]
        shown = upcoming or self.agenda.past(now)[:MAX_EVENTS]
        title = TEXTS[lang]["events_upcoming"] if upcoming else TEXTS[lang]["events_none"]
        lines = [title, *(f"• {self._event_line(e, lang)}" for e in shown)]
        rows: list[tuple[Button, ...]] = []
        for event in shown:
            rows.append((Button(f"🔗 {event.title[:40]}", url=event.url),))
            if event in upcoming:
                rows.append((Button(TEXTS[lang]["btn_ics"], encode(cb.Calendar(event.id))),))
                if controls is not None and (row := controls(event)):
                    rows.append(row)
        return Reply("\n".join(lines), (*rows, (Button(TEXTS[lang]["btn_menu"],
                                                        encode(cb.Menu())),)))

    def act(self, payload: str, lang: Lang = "fr") -> Reply:
        """Follow a button's payload; an unknown or stale one shows the themes."""
        return self.follow(cb.decode(payload), lang)

    def follow(self, action: cb.Action | None, lang: Lang = "fr") -> Reply:
        """The reply a navigation action shows; any other action (or none) shows the themes."""
        match action:
            case cb.OpenEntry(entry=entry_id):
                return self.entry(entry_id, lang)
            case cb.Details(entry=entry_id):
                return self.details(entry_id, lang)
            case cb.OpenTheme(theme=theme_id):
                return self.theme(theme_id, lang)
            case cb.RouteStep(step=index):
                return self.route(index, lang)
            case cb.Themes():
                return self.themes(lang)
            case cb.Events():
                return self.events(lang)
            case cb.Menu():
                return self.welcome(lang)
            case cb.Help():
                return self.help(lang)
        return Reply(TEXTS[lang]["unknown"], self._theme_rows(lang))

    def _menu(self, lang: Lang) -> tuple[tuple[Button, ...], ...]:
        t = TEXTS[lang]
        return ((Button(t["btn_themes"], encode(cb.Themes())),
                 Button(t["btn_route"], encode(cb.RouteStep(0)))),
                (Button(t["btn_events"], encode(cb.Events())),
                 Button(t["btn_help"], encode(cb.Help()))))

    def _theme_rows(self, lang: Lang) -> tuple[tuple[Button, ...], ...]:
        return tuple(
            (Button(f"{t.emoji} {t.en_title if lang == 'en' and t.en_title else t.title}",
                    encode(cb.OpenTheme(t.id))),) for t in self.faq.themes)

    @staticmethod
    def _answer(entry: Entry, lang: Lang) -> str:
        return entry.en.answer if lang == "en" and entry.en else entry.answer

    @staticmethod
    def _details(entry: Entry, lang: Lang) -> str:
        return entry.en.details if lang == "en" and entry.en else entry.details

    @staticmethod
    def _question(entry: Entry, lang: Lang) -> str:
        return entry.en.question if lang == "en" and entry.en else entry.question

    def _next_event(self, entry: Entry) -> Event | None:
        for event in self.agenda.upcoming(self.clock()):
            if entry.id in event.related or set(entry.tags) & set(event.tags):
                return event
        return None

    def _event_line(self, event: Event, lang: Lang) -> str:
        return (f"<b>{escape(event.title)}</b>, {format_date(event.start, lang)}, "
                f"{escape(event.place)}")
