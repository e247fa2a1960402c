"""The site's own words, in French and English; every fact comes from the FAQ files."""

from __future__ import annotations

from datetime import date

from careerbot.conversation import MONTHS

TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "site_title": "careerbot · FP21",
        "tagline": "Vos questions pour entrer dans la fonction publique, avec l'association FP21.",
        "skip": "Aller au contenu",
        "nav_home": "Accueil",
        "nav_events": "Événements",
        "nav_qr": "QR codes",
        "nav_label": "Navigation principale",
        "other_lang": "English",
        "other_lang_code": "en",
        "open_telegram": "Ouvrir dans Telegram",
        "about_more": "En savoir plus sur FP21",
        "search_title": "Chercher une question",
        "search_label": "Votre question, en quelques mots",
        "search_placeholder": "ex. concours sans diplôme",
        "search_button": "Chercher",
        "search_none": "Aucune question ne ressemble à « {q} ». Essayez d'autres mots, ou posez-la au bot.",
        "search_count": "{n} question(s) trouvée(s)",
        "search_error": "La recherche n'a pas pu se charger. Parcourez les thèmes ci-dessous.",
        "themes_title": "Les thèmes",
        "questions": "{n} questions",
        "events_title": "Événements à venir",
        "events_none": "Aucun événement FP21 n'est annoncé pour l'instant.",
        "events_all": "Tous les événements",
        "events_page_title": "Les événements FP21",
        "events_past": "Événements passés",
        "event_ics": "Ajouter à mon agenda (.ics)",
        "event_link": "En savoir plus",
        "event_bot": "Voir dans Telegram",
        "ask_bot": "Poser la question au bot",
        "reviewed": "Revu le {date}",
        "details": "📖 Plus de détails",
        "bubble_label": "Réponse du bot",
        "back_themes": "Tous les thèmes",
        "qr_title": "QR codes à imprimer",
        "qr_intro": "Chaque code ouvre careerbot dans Telegram au bon endroit. Imprimez cette page, "
                    "ou enregistrez un code (SVG ou PNG).",
        "qr_bot": "Le bot",
        "qr_route": "Le parcours",
        "qr_themes": "Les thèmes",
        "qr_events": "Les événements",
        "qr_past": "Événements passés",
        "qr_alt": "QR code vers {url}",
        "qr_download": "Télécharger",
        "footer": "careerbot, l'assistant de l'association FP21. Les réponses viennent de la FAQ "
                  "tenue par ses bénévoles.",
        "error_title": "La FAQ a des erreurs",
        "error_intro": "Le site revient dès que « careerbot check » ne trouve plus d'erreur. "
                       "Corrigez le fichier à la ligne indiquée, enregistrez, puis rechargez la page :",
        "error_warnings": "Et {n} avertissement(s), que « careerbot check » affiche.",
        "theme_page_intro": "Chaque réponse est celle du bot, telle qu'elle s'affiche dans Telegram.",
        "toc_title": "Les questions de ce thème",
    },
    "en": {
        "site_title": "careerbot · FP21",
        "tagline": "Your questions about joining the French public service, with the association FP21.",
        "skip": "Skip to content",
        "nav_home": "Home",
        "nav_events": "Events",
        "nav_qr": "QR codes",
        "nav_label": "Main navigation",
        "other_lang": "Français",
        "other_lang_code": "fr",
        "open_telegram": "Open in Telegram",
        "about_more": "More about FP21",
        "search_title": "Search a question",
        "search_label": "Your question, in a few words",
        "search_placeholder": "e.g. exam without a degree",
        "search_button": "Search",
        "search_none": "No question looks like “{q}”. Try other words, or ask the bot.",
        "search_count": "{n} question(s) found",
        "search_error": "Search could not load. Browse the themes below.",
        "themes_title": "Themes",
        "questions": "{n} questions",
        "events_title": "Upcoming events",
        "events_none": "No FP21 event is announced for now.",
        "events_all": "All events",
        "events_page_title": "FP21 events",
        "events_past": "Past events",
        "event_ics": "Add to my calendar (.ics)",
        "event_link": "Learn more",
        "event_bot": "See in Telegram",
        "ask_bot": "Ask the bot",
        "reviewed": "Reviewed on {date}",
        "details": "📖 More details",
        "bubble_label": "The bot's answer",
        "back_themes": "All themes",
        "qr_title": "QR codes to print",
        "qr_intro": "Each code opens careerbot in Telegram at the right place. Print this page, or "
                    "save a code (SVG or PNG).",
        "qr_bot": "The bot",
        "qr_route": "The route",
        "qr_themes": "Themes",
        "qr_events": "Events",
        "qr_past": "Past events",
        "qr_alt": "QR code to {url}",
        "qr_download": "Download",
        "footer": "careerbot, the assistant of the association FP21. Answers come from the FAQ kept "
                  "by its volunteers.",
        "error_title": "The FAQ has errors",
        "error_intro": "The site comes back once “careerbot check” finds no error. Fix the file at "
                       "the line given, save, then reload this page:",
        "error_warnings": "And {n} warning(s), which “careerbot check” shows.",
        "theme_page_intro": "Each answer is the bot's, as Telegram shows it.",
        "toc_title": "The questions of this theme",
    },
}


def long_date(day: date, lang: str) -> str:
    """A date as people write it: "29 novembre 2026", "29 November 2026"."""
    if lang == "en":
        return f"{day.day} {day.strftime('%B')} {day.year}"
    first = "1er" if day.day == 1 else str(day.day)
    return f"{first} {MONTHS[day.month - 1]} {day.year}"
