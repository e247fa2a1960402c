"""iCalendar (RFC 5545) files for events, so a candidate can add one to their calendar."""

from __future__ import annotations

from datetime import UTC, datetime

from careerbot.faq import Event

PRODID = "-//FP21//careerbot//FR"


def _escape(text: str) -> str:
    """Escape a TEXT value (RFC 5545 3.3.11)."""
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def _fold(line: str) -> str:
    """Fold a content line at 75 octets, never inside a UTF-8 character (RFC 5545 3.1)."""
    out: list[str] = []
    current = ""
    for char in line:
        limit = 75 if not out else 74  # continuation lines start with a space
        if len((current + char).encode("utf-8")) > limit:
            out.append(current)
            current = char
        else:
            current += char
    out.append(current)
    return "\r\n ".join(out)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def event_ics(event: Event, *, now: datetime) -> bytes:
    """The .ics file of one event (times in UTC, so every calendar places it right)."""
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH", "BEGIN:VEVENT",
        f"UID:{event.id}@careerbot.fp21.fr",
        f"DTSTAMP:{_utc(now)}",
        f"DTSTART:{_utc(event.start)}",
        f"DTEND:{_utc(event.end)}",
        f"SUMMARY:{_escape(event.title)}",
        f"LOCATION:{_escape(event.place)}",
        f"DESCRIPTION:{_escape(event.description)}",
        f"URL:{event.url}",
        "END:VEVENT", "END:VCALENDAR",
    ]
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode("utf-8")


def ics_filename(event: Event) -> str:
    """A file name for the event's .ics."""
    return f"{event.id}.ics"
