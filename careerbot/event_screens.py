"""What organisers see while they add, edit and cancel events, and what candidates get when an
event is cancelled: French texts and buttons, without Telegram or SQL.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

from careerbot import callbacks as cb
from careerbot.announcements import OFF, ON, TOPICS, event_buttons, topic_label
from careerbot.callbacks import encode
from careerbot.conversation import Button, Reply, format_date
from careerbot.event_drafting import EventDraft, Step
from careerbot.faq import Event, Faq
from careerbot.regions import PLACES, place_label
from careerbot.telegram_html import escape

MAX_TOPICS = 10  # topic buttons offered: the subscription topics, then the FAQ's commonest tags
MAX_ID = 50  # characters of a generated event id (the calendar and announce buttons carry it)

TEXT: dict[str, str] = {
    "ask_title": ("🗓️ <b>Nouvel événement</b>\nQuel est son titre ? (100 caractères au plus)\n"
                  "Tapez /annuler pour abandonner à tout moment."),
    "ask_new_title": "✏️ Le nouveau titre ? (100 caractères au plus)",
    "ask_when": ("📅 Quand ? Écrivez la date et l'heure de début (heure de Paris), par exemple "
                 "« 12/03 18h30 », « jeudi 12 mars à 18h30 » ou « demain 18h ».\nAjoutez l'heure "
                 "de fin si vous la connaissez (« 12/03 18h30-21h ») ; sinon l'événement dure "
                 "2 heures."),
    "ask_place": "📍 Où ? Écrivez l'adresse, ou « en ligne ».",
    "ask_region": "🗺️ Dans quelle région ? Les abonnés de cette région seront prévenus.",
    "ask_link": ("🔗 Le lien vers la page de l'événement (programme, inscription). Il commence "
                 "par https://"),
    "ask_description": ("✍️ Présentez l'événement en une ou deux lignes (300 caractères au "
                        "plus)."),
    "ask_topics": ("🏷️ Sur quels sujets ? L'événement s'affichera sous les réponses sur ces "
                   "sujets, et leurs abonnés recevront le rappel (les abonnés aux « Événements "
                   "FP21 » le reçoivent toujours). Cochez, puis « Suivant »."),
    "ask_field": "✏️ <b>Modifier « {title} »</b>\nQue voulez-vous changer ?",
    "preview": ("👆 <b>Aperçu</b> : voici l'événement tel que les candidats le verront.\n"
                "Fin : {end} · Région : {region}\nSujets : {topics}\n"
                "Les abonnés concernés recevront un rappel la veille."),
    "publish": "✅ Publier", "save": "✅ Enregistrer", "abort": "❌ Abandonner",
    "next": "Suivant ➡️",
    "published": ("✅ <b>{title}</b> est publié : il apparaît dès maintenant dans /evenements "
                  "et sous les réponses sur ses sujets.\nPour l'annoncer aux abonnés : le bouton "
                  "ci-dessous, ou /annonce evenement {id}"),
    "saved": "✅ Modifications enregistrées : /evenements montre la version à jour.",
    "saved_moved": ("✅ Modifications enregistrées. Le rappel suivra la nouvelle date : les "
                    "abonnés le recevront la veille, une fois."),
    "abandoned": "Événement abandonné : rien n'a été publié.",
    "not_saved": "Cet événement a changé ou a été annulé entre-temps : rien n'a été enregistré.",
    "announce": "📣 Annoncer", "edit": "✏️ Modifier", "cancel": "🗑️ Annuler l'événement",
    "cancel_ask": ("🗑️ <b>Annuler « {title} »</b> ({when}) ?\n"
                   "Voulez-vous prévenir les {count} abonné(s) concernés, qui devaient recevoir le "
                   "rappel ? Le rappel ne partira pas."),
    "cancel_notify": "🗑️ Annuler et prévenir ({count})",
    "cancel_quiet": "🗑️ Annuler sans prévenir",
    "cancel_keep": "↩️ Ne pas annuler",
    "cancelled_notified": ("🗑️ « {title} » est annulé. Le message d'annulation part vers "
                           "{count} abonné(s) (annonce #{id} dans /annonces)."),
    "cancelled_quiet": "🗑️ « {title} » est annulé. Personne n'a été prévenu.",
    "kept": "↩️ « {title} » n'est pas annulé.",
    "notice": ("❌ <b>Annulé</b> : {title}\nPrévu le {when}, {place}.\nToutes nos excuses ! "
               "Les prochains événements : /evenements"),
    "choose_event": "📣 Quel événement annoncer ?",
    "from_file": ("<i>Les événements sans bouton « Modifier » viennent du fichier "
                  "faq/events.yaml : les mainteneurs les modifient dans git.</i>"),
    "no_event": "Aucun événement à venir. Tapez /evenement pour en créer un.",
    # Toasts (at most 200 characters).
    "passed": "Cette étape est déjà passée : ce bouton ne fait plus rien. Utilisez les derniers.",
    "replaced": "Ce brouillon a été remplacé par un plus récent : ce bouton ne fait plus rien.",
    "already_confirmed": "Cet événement est déjà enregistré. ✅",
    "already_abandoned": "Ce brouillon a été abandonné : ce bouton ne fait plus rien.",
    "unknown_draft": "Ce brouillon n'existe plus : recommencez avec /evenement.",
    "changed": "Cet événement a changé depuis : tapez /evenements pour la liste à jour.",
    "gone": "Cet événement n'existe plus ou est déjà annulé : tapez /evenements.",
    "busy": "Un autre clic est passé juste avant : réessayez.",
}

QUESTIONS = {Step.TITLE: "ask_title", Step.WHEN: "ask_when", Step.PLACE: "ask_place",
             Step.LINK: "ask_link", Step.DESCRIPTION: "ask_description"}
FIELD_LABELS = {Step.TITLE: "Titre", Step.WHEN: "Date et heure", Step.PLACE: "Lieu",
                Step.REGION: "Région", Step.LINK: "Lien", Step.DESCRIPTION: "Description",
                Step.TOPICS: "Sujets"}


def topic_choices(faq: Faq) -> tuple[tuple[str, str], ...]:
    """The topics an event can have: the subscription topics (so reminders find their audience),
    then the FAQ's commonest tags (so answers on them show the event).
    """
    chosen = [(key, fr) for key, fr, _ in TOPICS if key not in ("all", "evenements")]
    counts = Counter(tag for entry in faq.entries for tag in entry.tags)
    for tag, _ in counts.most_common():
        if len(chosen) >= MAX_TOPICS:
            break
        if tag not in {key for key, _ in chosen} and tag not in ("all", "evenements"):
            chosen.append((tag, tag.replace("-", " ").capitalize()))
    return tuple(chosen)


def describe_topics(tags: Iterable[str], choices: tuple[tuple[str, str], ...]) -> str:
    """The event's topics in words."""
    labels = dict(choices)
    chosen = [labels.get(tag, topic_label(tag)) for tag in sorted(tags)]
    return ", ".join(chosen) if chosen else "aucun (seulement les abonnés aux événements)"


def question(draft: EventDraft, choices: tuple[tuple[str, str], ...]) -> Reply:
    """What the draft's step asks, with its buttons."""
    abort = (Button(TEXT["abort"], encode(cb.EventAbandon(draft.id, draft.version))),)
    if draft.step in QUESTIONS:
        if draft.target is None:
            return Reply(TEXT[QUESTIONS[draft.step]], (abort,))
        asked = TEXT["ask_new_title"] if draft.step is Step.TITLE else TEXT[QUESTIONS[draft.step]]
        return Reply(f"{asked}\n<i>Actuellement : {escape(current(draft))}</i>", (abort,))
    if draft.step is Step.REGION:
        buttons = [Button(label, encode(cb.EventRegion(draft.id, draft.version, key)))
                   for key, label in PLACES.items()]
        rows = [tuple(buttons[i:i + 2]) for i in range(0, len(buttons), 2)]
        return Reply(TEXT["ask_region"], (*rows, abort))
    if draft.step is Step.TOPICS:
        rows = [(Button(f"{ON if key in draft.tags else OFF} {label}",
                        encode(cb.EventTopic(draft.id, draft.version, key))),)
                for key, label in choices]
        done = (Button(TEXT["next"], encode(cb.EventTopicsDone(draft.id, draft.version))),
                *abort)
        return Reply(TEXT["ask_topics"], (*rows, done))
    if draft.step is Step.CHOOSE:
        return Reply(TEXT["ask_field"].format(title=escape(draft.title)),
                     (*field_rows(draft), abort))
    raise ValueError(f"no question at step {draft.step}")


def current(draft: EventDraft) -> str:
    """Editing: the value of the field being changed, as the organiser would type it."""
    match draft.step:
        case Step.TITLE:
            return draft.title
        case Step.WHEN if draft.start is not None and draft.end is not None:
            return f"{format_date(draft.start)}, fin à {draft.end.hour}h{draft.end.minute:02d}"
        case Step.PLACE:
            return draft.place
        case Step.LINK:
            return draft.url
        case Step.DESCRIPTION:
            return draft.description
    return ""


def field_rows(draft: EventDraft) -> tuple[tuple[Button, ...], ...]:
    """Editing: one button per field, two a row."""
    buttons = [Button(label, encode(cb.EventField(draft.id, draft.version, str(step))))
               for step, label in FIELD_LABELS.items()]
    return tuple(tuple(buttons[i:i + 2]) for i in range(0, len(buttons), 2))


def listing(event: Event) -> str:
    """An event as candidates read it in /evenements, with its description."""
    return (f"📅 <b>{escape(event.title)}</b>, {format_date(event.start)}, {escape(event.place)}"
            f"\n{escape(event.description)}")


def preview(draft: EventDraft, event: Event,
            choices: tuple[tuple[str, str], ...]) -> tuple[Reply, Reply]:
    """The event as candidates will see it, then the controls: publish (or save) or abandon."""
    assert draft.end is not None
    shown = Reply(listing(event), event_buttons(event))
    same_day = draft.start is not None and draft.start.date() == draft.end.date()
    end = (f"{draft.end.hour}h{draft.end.minute:02d}" if same_day else format_date(draft.end))
    controls = TEXT["preview"].format(end=end, region=escape(place_label(draft.region)),
                                      topics=escape(describe_topics(draft.tags, choices)))
    confirm = Button(TEXT["save" if draft.target else "publish"],
                     encode(cb.EventConfirm(draft.id, draft.version)))
    abort = Button(TEXT["abort"], encode(cb.EventAbandon(draft.id, draft.version)))
    rows: tuple[tuple[Button, ...], ...] = ((confirm, abort),)
    if draft.target is not None:
        rows = ((confirm,), *field_rows(draft), (abort,))
    return shown, Reply(controls, rows)


def published(event: Event) -> Reply:
    """Said once a new event is stored, with its announce button."""
    return Reply(TEXT["published"].format(title=escape(event.title), id=escape(event.id)),
                 ((Button(TEXT["announce"], encode(cb.AnnounceEvent(event.id))),),))


def controls(event: Event, stored: tuple[int, int] | None) -> tuple[Button, ...]:
    """The organisers' row under an event to come in /evenements: edit, cancel and announce for
    an event added from Telegram (number, revision); announce only for one of events.yaml, which
    is edited in git.
    """
    announce = Button(TEXT["announce"], encode(cb.AnnounceEvent(event.id)))
    if stored is None:
        return (announce,)
    number, revision = stored
    return (Button(TEXT["edit"], encode(cb.EditEvent(number, revision))),
            Button("🗑️ Annuler", encode(cb.AskCancelEvent(number, revision))), announce)


def cancel_question(event: Event, number: int, revision: int, count: int) -> Reply:
    """Ask whether to tell the subscribers before cancelling."""
    return Reply(TEXT["cancel_ask"].format(title=escape(event.title),
                                           when=format_date(event.start), count=count),
                 ((Button(TEXT["cancel_notify"].format(count=count),
                          encode(cb.CancelEvent(number, revision, notify=True))),),
                  (Button(TEXT["cancel_quiet"],
                          encode(cb.CancelEvent(number, revision, notify=False))),),
                  (Button(TEXT["cancel_keep"], encode(cb.KeepEvent(number, revision))),)))


def cancellation_notice(event: Event) -> str:
    """What subscribers get when an event they were to be reminded of is cancelled."""
    return TEXT["notice"].format(title=escape(event.title), when=format_date(event.start),
                                 place=escape(event.place))


def events_to_announce(events: Iterable[Event]) -> Reply:
    """`/annonce evenement` without an id: one button per event to come."""
    rows = tuple((Button(f"📣 {event.title[:40]} ({event.start:%d/%m})",
                         encode(cb.AnnounceEvent(event.id))),) for event in events)
    if not rows:
        return Reply(TEXT["no_event"])
    return Reply(TEXT["choose_event"], rows)


def new_id(event: Event, taken: Iterable[str]) -> str:
    """A readable id for a new event, unique among `taken`: its title and date as a slug."""
    plain = unicodedata.normalize("NFKD", event.title.lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    slug = re.sub(r"[^a-z0-9]+", "-", plain).strip("-") or "evenement"
    suffix = f"-{event.start:%Y-%m-%d}"
    room = MAX_ID - len(suffix) - 3  # "-NN" to make it unique
    if len(slug) > room:  # cut between words when there is more than one
        cut = slug[:room + 1]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else slug[:room]
    base = slug.rstrip("-") + suffix
    used = set(taken)
    candidate, number = base, 2
    while candidate in used:
        candidate, number = f"{base}-{number}", number + 1
    return candidate
