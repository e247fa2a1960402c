"""Subscriptions and organisers' announcements: the texts and buttons, without Telegram or SQL.

The subscription keyboard carries its own state (✅/⬜ in the labels), so a choice in progress
survives a restart and needs no server-side session. An organiser's draft is stored
(careerbot.drafting); its buttons carry the draft's id and version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from careerbot import callbacks as cb
from careerbot.callbacks import encode
from careerbot.conversation import Button, Lang, Reply, format_date
from careerbot.drafting import Draft
from careerbot.faq import Event
from careerbot.regions import ONLINE, PLACES

if TYPE_CHECKING:  # the report reads a storage record; the core imports no database library
    from careerbot.storage.outbox import Summary

ALL = "all"
# Topics a candidate can follow; ids match FAQ and event tags, so reminders find their audience.
TOPICS: tuple[tuple[str, str, str], ...] = (
    (ALL, "Toutes les annonces", "All announcements"),
    ("evenements", "Événements FP21", "FP21 events"),
    ("concours", "Concours", "Competitive exams"),
    ("sans-concours", "Emplois sans concours", "Jobs without an exam"),
    ("alternance", "Alternance et apprentissage", "Apprenticeships"),
    ("etudiants", "Stages et études", "Internships and studies"),
)
ON, OFF = "✅", "⬜"
# Bit positions of the choices a subscription button carries from one screen to the other
# (OpenRegions, BackToTopics, SaveRegions): append only, payloads under old messages use them.
TOPIC_ORDER: tuple[str, ...] = tuple(key for key, _, _ in TOPICS)
PLACE_ORDER: tuple[str, ...] = tuple(PLACES)
PLACE_EN = {ONLINE: "Online", "etranger": "Abroad"}  # region names are the same in English

TEXTS: dict[Lang, dict[str, str]] = {
    "fr": {
        "choose": ("🔔 <b>Annonces FP21</b>\nChoisissez ce que vous voulez recevoir, puis "
                   "validez. Avec « 📍 Régions », ne recevez que les événements près de chez "
                   "vous. Vous pourrez vous désabonner à tout moment avec /desabonner."),
        "save": "💾 Valider", "cancel": "Annuler",
        "saved": "C'est noté ✅ Vous recevrez : {topics}.{regions}\n/desabonner pour arrêter.",
        "regions_button": "📍 Régions : {regions}",
        "regions_all": "toutes", "regions_many": "{count} choisies",
        "choose_regions": ("📍 <b>Les événements près de chez vous</b>\nCochez vos régions : vous "
                           "recevrez les annonces et rappels des événements qui s'y tiennent, et "
                           "de ceux en ligne. Sans région cochée, vous recevez tout."),
        "back_topics": "⬅️ Sujets",
        "pick_topic": "☝️ Choisissez au moins un sujet, puis validez.",
        "where": "\n📍 Événements : {places} et en ligne.",
        "where_online": "\n📍 Événements : en ligne seulement.",
        "nothing_chosen": "Aucun sujet choisi : vous n'êtes pas abonné(e).",
        "unsubscribed": "Vous êtes désabonné(e). Vous ne recevrez plus d'annonces. 👋",
        "not_subscribed": "Vous n'êtes pas abonné(e). /abonner pour recevoir les annonces.",
        "mine": ("🔔 Vous recevez : {topics}.{regions}\n/abonner pour changer, /desabonner pour "
                 "arrêter."),
        "forget_ask": ("Effacer votre abonnement, vos sujets, l'historique des annonces reçues, "
                       "et vos questions et avis des 30 derniers jours ? C'est définitif."),
        "forget_yes": "🗑️ Oui, tout effacer", "forget_no": "Non, garder",
        "forgotten": ("C'est fait : abonnement, historique, questions et avis récents effacés. 🗑️ "
                      "Les questions de plus de 30 jours restent, sans aucun lien avec vous."),
        "kept": "Rien n'a été effacé.",
        "feedback": "Cette réponse vous a aidé ?",
        "yes": "👍 Oui", "no": "👎 Non",
        "thanks": "Merci pour votre avis ! 🙏",
        "no_storage": "Les abonnements ne sont pas disponibles pour le moment.",
        "my_id": ("🪪 Votre identifiant Telegram : <code>{id}</code>\nPour devenir organisateur "
                  "FP21, envoyez-le à l'administrateur de l'association : il l'ajoutera à la "
                  "liste des organisateurs (CAREERBOT_ADMIN_IDS)."),
    },
    "en": {
        "choose": ("🔔 <b>FP21 announcements</b>\nPick what you want to receive, then save. "
                   "With \"📍 Regions\", get only the events near you. You can unsubscribe any "
                   "time with /desabonner."),
        "save": "💾 Save", "cancel": "Cancel",
        "saved": "Done ✅ You will receive: {topics}.{regions}\n/desabonner to stop.",
        "regions_button": "📍 Regions: {regions}",
        "regions_all": "all", "regions_many": "{count} chosen",
        "choose_regions": ("📍 <b>Events near you</b>\nTick your regions: you will get the "
                           "announcements and reminders of events held there, and of online "
                           "ones. With no region ticked, you get everything."),
        "back_topics": "⬅️ Topics",
        "pick_topic": "☝️ Pick at least one topic, then save.",
        "where": "\n📍 Events: {places} and online.",
        "where_online": "\n📍 Events: online only.",
        "nothing_chosen": "No topic chosen: you are not subscribed.",
        "unsubscribed": "You are unsubscribed. No more announcements. 👋",
        "not_subscribed": "You are not subscribed. /abonner to get announcements.",
        "mine": "🔔 You receive: {topics}.{regions}\n/abonner to change, /desabonner to stop.",
        "forget_ask": ("Erase your subscription, topics, the history of announcements you got, "
                       "and your questions and ratings of the last 30 days? This cannot be undone."),
        "forget_yes": "🗑️ Yes, erase everything", "forget_no": "No, keep it",
        "forgotten": ("Done: subscription, history, recent questions and ratings erased. 🗑️ "
                      "Questions older than 30 days stay, with no link to you."),
        "kept": "Nothing was erased.",
        "feedback": "Did this answer help?",
        "yes": "👍 Yes", "no": "👎 No",
        "thanks": "Thanks for your feedback! 🙏",
        "no_storage": "Subscriptions are not available right now.",
        "my_id": ("🪪 Your Telegram id: <code>{id}</code>\nTo become an FP21 organiser, send it "
                  "to the association's admin, who will add it to the organisers' list "
                  "(CAREERBOT_ADMIN_IDS)."),
    },
}

ADMIN: dict[str, str] = {
    "refused": "Cette action est réservée aux organisateurs FP21. 🔒",
    "ask_text": ("📣 <b>Nouvelle annonce</b>\nÉcrivez le texte de l'annonce (gras, italique et "
                 "liens acceptés). /annuler pour abandonner."),
    "ask_audience": ("À qui l'envoyer ? Cochez un ou plusieurs sujets, ou « Tout le monde », "
                     "puis « Suivant ». Les abonnés à « Toutes les annonces » la reçoivent aussi."),
    "everyone": "Tout le monde (tous les abonnés)",
    "event_region": ("📍 Lieu de l'événement : {place}. Par défaut, l'annonce va aux abonnés qui "
                     "l'ont choisi et à ceux qui n'ont choisi aucune région. « Toutes les régions » "
                     "ou « Tout le monde » l'envoient partout."),
    "region_only": "📍 {place} seulement", "all_regions": "🌍 Toutes les régions",
    "in_region": "{who}, 📍 {place} seulement",
    "next": "Suivant ➡️",
    "ask_when": "Quand l'envoyer ? Choisissez, ou écrivez une date : JJ/MM/AAAA HH:MM (Paris).",
    "now": "Maintenant", "in_hour": "Dans 1 heure", "tomorrow": "Demain 9 h",
    "bad_date": "Date non comprise : écrivez par exemple 05/12/2026 18:30.",
    "preview": ("👆 <b>Aperçu</b> : voici le message tel que les abonnés le recevront.\n"
                "Destinataires : <b>{count}</b> ({audience})\nEnvoi : <b>{when}</b>"),
    "confirm": "✅ Envoyer", "abort": "❌ Annuler",
    "confirmed": "📤 Envoi #{id} lancé vers {count} destinataire(s). Je vous tiens au courant.",
    "scheduled": "🕒 Envoi #{id} programmé le {when} vers {count} destinataire(s).",
    "cancelled": "Annonce abandonnée, rien n'a été envoyé.",
    "empty_audience": "Personne n'est abonné à ces sujets : rien à envoyer.",
    "unknown_event": "Événement inconnu : {id}. Les événements : {ids}",
    "list_none": "Aucune annonce pour l'instant. /annonce pour en écrire une.",
    "pause": "⏸ Pause #{id}", "resume": "▶️ Reprendre #{id}", "stop": "🛑 Annuler #{id}",
    "changed": "Annonce #{id} : {state}.",
    "not_changed": "L'annonce #{id} ne peut pas être modifiée dans son état actuel.",
    "resend": "🔁 Renvoyer aux incertains ({count})",
    "resend_ask": ("🔁 <b>Renvoyer l'annonce #{id} aux {count} destinataire(s) incertain(s) ?</b>\n"
                   "Pour eux, l'envoi a été interrompu sans qu'on sache si le message est arrivé. "
                   "⚠️ Certains l'ont peut-être déjà reçu et le recevront deux fois."),
    "resend_yes": "🔁 Oui, renvoyer", "resend_no": "Non, ne rien renvoyer",
    "resending": "🔁 Renvoi de l'annonce #{id} lancé vers {count} destinataire(s).",
    "nothing_to_resend": "Rien à renvoyer : ce renvoi est déjà lancé, ou personne n'est incertain.",
    # Toasts for buttons that can no longer do anything (at most 200 characters).
    "replaced": "Ce brouillon a été remplacé : ce bouton ne fait plus rien.",
    "passed": "Cette étape est déjà passée : ce bouton ne fait plus rien. Utilisez les derniers.",
    "already_confirmed": "Cette annonce est déjà confirmée : rien de plus à faire. ✅",
    "already_abandoned": "Cette annonce a été abandonnée : ce bouton ne fait plus rien.",
    "need_audience": "Choisissez d'abord à qui l'envoyer : cochez un sujet, ou « Tout le monde ».",
    "outdated": "Ce bouton date d'une ancienne version : recommencez avec /annonce.",
    "unknown_draft": "Ce brouillon n'existe plus : recommencez avec /annonce.",
    "busy": "Un autre clic est passé juste avant : réessayez.",
    "cancellation_audience": "annulation d'un événement, aux abonnés qui devaient avoir le rappel",
}
STATE_FR = {"draft": "brouillon", "scheduled": "programmée", "sending": "en cours",
            "paused": "en pause", "cancelled": "annulée", "done": "terminée",
            "stopped": "arrêtée (erreur)"}


def topic_label(topic: str, lang: Lang = "fr") -> str:
    """The readable name of a topic."""
    for key, fr, en in TOPICS:
        if key == topic:
            return en if lang == "en" else fr
    return topic


def describe(topics: Iterable[str], lang: Lang = "fr") -> str:
    """Topics as a readable list."""
    order = {key: index for index, (key, _, _) in enumerate(TOPICS)}
    chosen = sorted(set(topics), key=lambda t: order.get(t, len(order)))
    if not chosen or ALL in chosen:
        return topic_label(ALL, lang).lower()
    return ", ".join(topic_label(t, lang) for t in chosen)


def audience_label(topics: Iterable[str], everyone: bool, region: str | None = None) -> str:
    """Who an organiser's announcement goes to, in words."""
    who = ADMIN["everyone"].lower() if everyone else describe(topics)
    if region is None or region == ONLINE:
        return who
    return ADMIN["in_region"].format(who=who, place=PLACES.get(region, region))


def toggles(action: Callable[[str], cb.Action], selected: Iterable[str], lang: Lang,
            topics: Sequence[tuple[str, str, str]] = TOPICS) -> list[tuple[Button, ...]]:
    """One ✅/⬜ button per topic; its action toggles it."""
    chosen = set(selected)
    return [(Button(f"{ON if key in chosen else OFF} {en if lang == 'en' else fr}",
                    encode(action(key))),) for key, fr, en in topics]


def selected_in(labels: Sequence[str]) -> set[str]:
    """Read back which topics a toggle keyboard shows as chosen."""
    chosen: set[str] = set()
    for label in labels:
        if label.startswith(ON):
            name = label.removeprefix(ON).strip()
            chosen.update(key for key, fr, en in TOPICS if name in (fr, en))
    return chosen


def toggle(selected: set[str], topic: str) -> set[str]:
    """The selection after pressing a topic ("all" and the others exclude each other)."""
    if topic in selected:
        return selected - {topic}
    if topic == ALL:
        return {ALL}
    return (selected - {ALL}) | {topic}


def choose_topics(selected: set[str], lang: Lang = "fr", regions: Iterable[str] = (),
                  note: str = "") -> Reply:
    """The subscription keyboard: topics, the way to the regions (carrying those ticked so far),
    save or cancel; `note` is a TEXTS key to add under the explanation.
    """
    t = TEXTS[lang]
    rows = toggles(cb.ToggleTopic, selected, lang)
    rows.append((regions_button(set(regions), lang),))
    rows.append((Button(t["save"], encode(cb.SaveTopics())),
                 Button(t["cancel"], encode(cb.KeepTopics()))))
    return Reply(t["choose"] + (f"\n\n{t[note]}" if note else ""), tuple(rows))


def place_name(place: str, lang: Lang = "fr") -> str:
    """A region's name as the subscriber reads it."""
    if lang == "en" and place in PLACE_EN:
        return PLACE_EN[place]
    return PLACES.get(place, place)


def regions_button(regions: set[str], lang: Lang = "fr") -> Button:
    """The topics screen's way to the regions, saying which are ticked."""
    t = TEXTS[lang]
    chosen = [p for p in PLACE_ORDER if p in regions]
    if not chosen:
        what = t["regions_all"]
    elif len(chosen) <= 2:
        what = ", ".join(place_name(p, lang) for p in chosen)
    else:
        what = t["regions_many"].format(count=len(chosen))
    return Button(t["regions_button"].format(regions=what),
                  encode(cb.OpenRegions(mask(chosen, PLACE_ORDER))))


def choose_regions(regions: set[str], topics: set[str], lang: Lang = "fr") -> Reply:
    """The second screen of /abonner: the 20 places in two columns, back to the topics (which
    it carries), save or cancel.
    """
    t = TEXTS[lang]
    buttons = [Button(f"{ON if p in regions else OFF} {place_name(p, lang)}",
                      encode(cb.ToggleRegion(p))) for p in PLACE_ORDER]
    rows: list[tuple[Button, ...]] = [tuple(buttons[i:i + 2]) for i in range(0, len(buttons), 2)]
    carried = mask(topics, TOPIC_ORDER)
    rows.append((Button(t["back_topics"], encode(cb.BackToTopics(carried))),))
    rows.append((Button(t["save"], encode(cb.SaveRegions(carried))),
                 Button(t["cancel"], encode(cb.KeepTopics()))))
    return Reply(t["choose_regions"], tuple(rows))


def regions_in(labels: Sequence[str]) -> set[str]:
    """Read back which places a region keyboard shows as chosen."""
    names = {place_name(key, lang): key for key in PLACE_ORDER for lang in ("fr", "en")}
    chosen = (label.removeprefix(ON).strip() for label in labels if label.startswith(ON))
    return {names[name] for name in chosen if name in names}


def mask(chosen: Iterable[str], order: Sequence[str]) -> int:
    """A choice as a bit mask over `order` (what `order` lacks is dropped)."""
    wanted = set(chosen)
    return sum(1 << index for index, key in enumerate(order) if key in wanted)


def unmask(bits: int, order: Sequence[str]) -> set[str]:
    """The choice a bit mask stands for (bits beyond `order`, as a forged payload may set, are
    ignored).
    """
    return {key for index, key in enumerate(order) if bits >> index & 1}


def carried(actions: Iterable[cb.Action | None]) -> tuple[set[str] | None, set[str] | None]:
    """The (topics, regions) a subscription keyboard carries for its other screen; None for one
    it does not carry (a keyboard drawn before regions existed carries no regions).
    """
    topics: set[str] | None = None
    regions: set[str] | None = None
    for action in actions:
        match action:
            case cb.OpenRegions(regions=bits):
                regions = unmask(bits, PLACE_ORDER)
            case cb.BackToTopics(topics=bits) | cb.SaveRegions(topics=bits):
                topics = unmask(bits, TOPIC_ORDER)
    return topics, regions


def describe_regions(regions: Iterable[str], lang: Lang = "fr") -> str:
    """Where a subscriber's events are, as a line to add ("" without regions: everywhere)."""
    chosen = set(regions)
    if not chosen:
        return ""
    places = [place_name(p, lang) for p in PLACE_ORDER if p in chosen and p != ONLINE]
    if not places:
        return TEXTS[lang]["where_online"]
    return TEXTS[lang]["where"].format(places=", ".join(places))


def text(key: str, lang: Lang = "fr", **values: str) -> Reply:
    """A subscription message with no buttons."""
    return Reply(TEXTS[lang][key].format(**values))


# The organisers' commands, shown in their own Telegram menu (name, French description).
ORGANISER_COMMANDS: tuple[tuple[str, str], ...] = (
    ("evenement", "Organisateurs : créer un événement"),
    ("annonce", "Organisateurs : écrire une annonce aux abonnés"),
    ("annonces", "Organisateurs : les dernières annonces et leur bilan"),
    ("stats", "Organisateurs : ce que demandent les candidats"),
    ("annuler", "Organisateurs : abandonner le brouillon en cours"),
)


def my_id(user_id: int, lang: Lang = "fr") -> Reply:
    """/monid: the user's Telegram id, and how an organiser gets it added."""
    return text("my_id", lang, id=str(user_id))


def forget_confirmation(lang: Lang = "fr") -> Reply:
    """Ask before erasing a user's data."""
    t = TEXTS[lang]
    return Reply(t["forget_ask"], ((Button(t["forget_yes"], encode(cb.Forget(erase=True))),
                                    Button(t["forget_no"], encode(cb.Forget(erase=False)))),))


def feedback_row(entry_id: str, lang: Lang = "fr") -> tuple[Button, ...]:
    """The "did this help?" buttons under an answer."""
    t = TEXTS[lang]
    return (Button(t["yes"], encode(cb.Feedback(entry_id, helpful=True))),
            Button(t["no"], encode(cb.Feedback(entry_id, helpful=False))))


def with_feedback(reply: Reply, entry_id: str, lang: Lang = "fr") -> Reply:
    """An answer with the feedback question and buttons added."""
    return Reply(f"{reply.html}\n\n<i>{TEXTS[lang]['feedback']}</i>",
                 (feedback_row(entry_id, lang), *reply.buttons), reply.match)


def audience_keyboard(draft: Draft, place: str | None = None) -> Reply:
    """The organiser's audience choice: topics, or everyone, explicitly; for the event of a
    region (`place`), that region only (the default) or every region.
    """
    def tick(topic: str) -> cb.Action:
        return cb.AudienceTopic(draft.id, draft.version, topic)
    rows = toggles(tick, draft.topics, "fr", [t for t in TOPICS if t[0] != ALL])
    rows.append((Button(f"{ON if draft.everyone else OFF} 👥 {ADMIN['everyone']}",
                        encode(cb.AudienceEveryone(draft.id, draft.version))),))
    html = ADMIN["ask_audience"]
    if place is not None and place != ONLINE:
        name = PLACES.get(place, place)
        html += "\n" + ADMIN["event_region"].format(place=name)
        rows.append((Button(f"{ON if draft.region == place else OFF} "
                            + ADMIN["region_only"].format(place=name),
                            encode(cb.AudienceRegion(draft.id, draft.version, regional=True))),))
        rows.append((Button(f"{ON if draft.region is None else OFF} {ADMIN['all_regions']}",
                            encode(cb.AudienceRegion(draft.id, draft.version, regional=False))),))
    rows.append((Button(ADMIN["next"], encode(cb.AudienceDone(draft.id, draft.version))),
                 Button(ADMIN["abort"], encode(cb.AbandonDraft(draft.id, draft.version)))))
    return Reply(html, tuple(rows))


def when_keyboard(draft: Draft) -> Reply:
    """The organiser's choice of sending time."""
    def choice(key: str, label: str) -> tuple[Button, ...]:
        return (Button(ADMIN[label], encode(cb.SendTime(draft.id, draft.version, key))),)
    return Reply(ADMIN["ask_when"], (choice("now", "now"), choice("hour", "in_hour"),
                                     choice("tomorrow", "tomorrow"),
                                     (Button(ADMIN["abort"],
                                             encode(cb.AbandonDraft(draft.id, draft.version))),)))


def preview_controls(draft: Draft, count: int) -> Reply:
    """The control message under the preview: recipients, time, confirm or cancel."""
    moment = format_date(draft.send_at) if draft.send_at else ADMIN["now"].lower()
    audience = audience_label(draft.topics, draft.everyone, draft.region)
    return Reply(ADMIN["preview"].format(count=count, audience=audience, when=moment),
                 ((Button(ADMIN["confirm"], encode(cb.ConfirmDraft(draft.id, draft.version))),
                   Button(ADMIN["abort"], encode(cb.AbandonDraft(draft.id, draft.version)))),))


def report(summary: Summary) -> str:
    """A broadcast's state and delivery report, for organisers."""
    c = summary.counts
    audience = (ADMIN["cancellation_audience"] if summary.kind == "cancellation"
                else audience_label(summary.topics, not summary.topics, summary.region))
    lines = [f"📣 <b>Annonce #{summary.id}</b> : {STATE_FR.get(summary.state, summary.state)}"
             f" ({audience})",
             f"Envoyés : {c.get('sent', 0)} / {summary.total}",
             f"Bloqués (désabonnés) : {c.get('blocked', 0)} · Injoignables : {c.get('gone', 0)}",
             f"Échecs : {c.get('failed', 0)} · Incertains : {c.get('unknown', 0)}"]
    waiting = c.get("pending", 0) + c.get("sending", 0)
    if waiting:
        lines.append(f"En attente : {waiting}")
    if summary.send_at and summary.state == "scheduled":
        lines.append(f"Prévu le {format_date(summary.send_at)}")
    if summary.error:
        lines.append(f"Erreur : {summary.error[:200]}")
    return "\n".join(lines)


def uncertain(summary: Summary) -> int:
    """Recipients of a finished broadcast whose copy may or may not have arrived."""
    return summary.counts.get("unknown", 0) if summary.state == "done" else 0


def broadcast_controls(summary: Summary) -> tuple[Button, ...]:
    """Pause/resume/cancel buttons for an active broadcast; resend for a finished uncertain one."""
    number = summary.id
    buttons = []
    if summary.state in ("sending", "scheduled"):
        buttons.append(Button(ADMIN["pause"].format(id=number),
                              encode(cb.PauseBroadcast(number))))
    if summary.state == "paused":
        buttons.append(Button(ADMIN["resume"].format(id=number),
                              encode(cb.ResumeBroadcast(number))))
    if summary.state in ("sending", "scheduled", "paused"):
        buttons.append(Button(ADMIN["stop"].format(id=number), encode(cb.CancelBroadcast(number))))
    if count := uncertain(summary):
        buttons.append(Button(ADMIN["resend"].format(count=count), encode(cb.AskResend(number))))
    return tuple(buttons)


def report_reply(summary: Summary, headline: str = "") -> Reply:
    """A broadcast's report with its controls (under a headline, e.g. what was just done)."""
    controls = broadcast_controls(summary)
    html = f"{headline}\n\n{report(summary)}" if headline else report(summary)
    return Reply(html, (controls,) if controls else ())


def resend_confirmation(summary: Summary) -> Reply:
    """Ask before sending again to the uncertain recipients, saying some may get it twice."""
    number = summary.id
    return Reply(ADMIN["resend_ask"].format(id=number, count=uncertain(summary)),
                 ((Button(ADMIN["resend_yes"], encode(cb.ConfirmResend(number))),
                   Button(ADMIN["resend_no"], encode(cb.KeepUncertain(number)))),))


def event_buttons(event: Event | None) -> tuple[tuple[Button, ...], ...]:
    """Under an event's announcement: add it to a calendar, or read more."""
    if event is None:
        return ()
    return ((Button("📆 Ajouter à mon agenda", encode(cb.Calendar(event.id))),),
            (Button("🔗 En savoir plus", url=event.url),))
