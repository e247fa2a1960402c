"""The `/stats` picture: the five figures in one tall PNG, readable on a phone, in French.

matplotlib is imported when a picture is drawn, not when the bot starts (it takes about a
second), and only with the Agg backend: no display, safe in a thread. Counts only: the labels are
entry ids, topics, regions, days and broadcast numbers, never a person. The PNG also carries the
figures it shows as JSON (a `careerbot-stats` text chunk), so a test or an operator can check the
picture against `careerbot stats --json`.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from typing import TYPE_CHECKING, Any

from careerbot.stats import OUTCOMES, Figures, as_json, broadcast_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes

METADATA_KEY = "careerbot-stats"
COLOURS = {"answer": "#2e7d32", "suggest": "#1e88e5", "smalltalk": "#9e9e9e",
           "fallback": "#ef6c00"}
YES, NO = "#43a047", "#e53935"
SENT, BLOCKED, UNCERTAIN = "#2e7d32", "#e53935", "#fbc02d"
WIDTH, HEIGHT, DPI = 7.5, 16.0, 150  # 1125 x 2400 pixels: Telegram keeps up to 2560
SHOWN = 10  # bars at most in the entry panels


def render_png(figures: Figures) -> bytes:
    """The five panels as PNG bytes (blocking, a fraction of a second: call it in a thread)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    figure.suptitle(f"FP21 · ce que demandent les candidats · au {figures.today:%d/%m/%Y}",
                    fontsize=15, fontweight="bold")
    axes = figure.subplots(5, 1, height_ratios=[1.15, 1.15, 1.15, 1.0, 0.9])
    _messages(axes[0], figures)
    _top_entries(axes[1], figures)
    _ratings(axes[2], figures)
    _subscribers(axes[3], figures)
    _broadcasts(axes[4], figures)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": "careerbot"})
    return _with_text(buffer.getvalue(), METADATA_KEY,
                      json.dumps(as_json(figures), separators=(",", ":"), sort_keys=True))


def figures_in(png: bytes) -> dict[str, Any] | None:
    """The figures a picture made by `render_png` carries (None if it has none)."""
    position = 8
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position:position + 8])
        data = png[position + 8:position + 8 + length]
        if kind == b"tEXt" and data.startswith(METADATA_KEY.encode() + b"\0"):
            found: dict[str, Any] = json.loads(data.split(b"\0", 1)[1])
            return found
        position += 12 + length
    return None


def _with_text(png: bytes, key: str, value: str) -> bytes:
    """The PNG with one more tEXt chunk before its end (ASCII JSON is valid Latin-1)."""
    data = key.encode("latin-1") + b"\0" + value.encode("latin-1")
    chunk = (struct.pack(">I", len(data)) + b"tEXt" + data
             + struct.pack(">I", zlib.crc32(b"tEXt" + data) & 0xFFFFFFFF))
    end = png.rindex(b"IEND") - 4
    return png[:end] + chunk + png[end:]


def _title(axes: Axes, number: int, text: str) -> None:
    axes.set_title(f"{number}. {text}", loc="left", fontsize=13, fontweight="bold")
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(labelsize=10)


def _empty(axes: Axes, text: str = "Pas encore de données") -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", fontsize=12, color="#757575",
              transform=axes.transAxes)
    axes.set_xticks([])
    axes.set_yticks([])


def _messages(axes: Axes, figures: Figures) -> None:
    _title(axes, 1, f"Messages par jour ({len(figures.days)} jours) : {figures.messages}")
    positions = list(range(len(figures.days)))
    bottom = [0] * len(positions)
    for key, label in OUTCOMES:
        counts = figures.per_day[key]
        axes.bar(positions, counts, bottom=bottom, color=COLOURS[key], width=0.8,
                 label=f"{label} ({sum(counts)})")
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    _day_ticks(axes, figures)
    _whole_numbers(axes)
    axes.set_ylabel("messages", fontsize=10)
    axes.legend(fontsize=9, ncols=2, frameon=False, loc="upper left")
    axes.set_ylim(0, max(max(bottom, default=0), 1) * 1.35)  # room for the legend


def _day_ticks(axes: Axes, figures: Figures) -> None:
    """Days on the x axis (day i of the window at x = i), one label a week ending today."""
    ticks = list(range(len(figures.days)))[::-7][::-1]
    axes.set_xticks(ticks, [f"{figures.days[i]:%d/%m}" for i in ticks])
    axes.set_xlim(-0.7, len(figures.days) - 0.3)


def _whole_numbers(axes: Axes) -> None:
    """Counts on the y axis: no 0.2 of a message."""
    from matplotlib.ticker import MaxNLocator

    axes.yaxis.set_major_locator(MaxNLocator(integer=True))


def _top_entries(axes: Axes, figures: Figures) -> None:
    _title(axes, 2, "Les entrées les plus répondues (30 jours)")
    shown = figures.top_entries[:SHOWN]
    if not shown:
        _empty(axes)
        return
    labels = [entry for entry, _ in shown][::-1]
    counts = [count for _, count in shown][::-1]
    bars = axes.barh(labels, counts, color=COLOURS["answer"])
    axes.bar_label(bars, padding=3, fontsize=9)
    axes.set_xlim(0, max(counts) * 1.15)


def _ratings(axes: Axes, figures: Figures) -> None:
    _title(axes, 3, "« Cette réponse vous a aidé ? »")
    shown = figures.ratings[:SHOWN]
    if not shown:
        _empty(axes, "Pas encore d'avis")
        return
    labels = [r.entry_id for r in shown][::-1]
    yes = [100 * r.share for r in shown][::-1]
    no = [100 - share for share in yes]
    axes.barh(labels, yes, color=YES)
    axes.barh(labels, no, left=yes, color=NO)
    for index, rating in enumerate(shown[::-1]):
        axes.text(1.5, index, f"{round(100 * rating.share)} % oui", va="center", fontsize=9,
                  color="white", fontweight="bold")
        axes.text(98.5, index, f"{rating.helpful} oui / {rating.unhelpful} non", va="center",
                  ha="right", fontsize=9, color="white", fontweight="bold")
    axes.set_xlim(0, 100)
    axes.set_xlabel("% de « oui » (la moins utile en haut)", fontsize=10)


def _subscribers(axes: Axes, figures: Figures) -> None:
    _title(axes, 4, "Abonnés par sujet et par région")
    series = [s for s in figures.subscribers if s.points]
    if not any(count for s in series for _, count in s.points):
        _empty(axes, "Pas encore d'abonnés")
        return
    for s in series:
        days = [(day - figures.days[0]).days for day, _ in s.points]
        counts = [count for _, count in s.points]
        axes.plot(days, counts, marker="o", markersize=3, linewidth=2,
                  linestyle="--" if s.kind == "region" else "-",
                  label=f"{s.label} ({counts[-1]})")
    _day_ticks(axes, figures)
    _whole_numbers(axes)
    highest = max(count for s in series for _, count in s.points)
    axes.set_ylim(0, highest * 1.6)  # room for the legend
    axes.legend(fontsize=8, frameon=False, loc="upper left", ncols=2)


def _broadcasts(axes: Axes, figures: Figures) -> None:
    _title(axes, 5, "Dernières annonces")
    shown = figures.broadcasts
    if not shown:
        _empty(axes, "Pas encore d'annonce")
        return
    labels = [f"#{b.id} {broadcast_label(b.kind)} {b.day:%d/%m}"
              for b in shown][::-1]
    sent = [b.sent for b in shown][::-1]
    blocked = [b.blocked for b in shown][::-1]
    unsure = [b.uncertain for b in shown][::-1]
    axes.barh(labels, sent, color=SENT, label=f"envoyés ({sum(sent)})")
    axes.barh(labels, blocked, left=sent, color=BLOCKED, label=f"bloqués ({sum(blocked)})")
    lefts = [s + b for s, b in zip(sent, blocked, strict=True)]
    bars = axes.barh(labels, unsure, left=lefts, color=UNCERTAIN,
                     label=f"incertains ({sum(unsure)})")
    axes.bar_label(bars, labels=[f"{s} / {b} / {u}" for s, b, u in zip(sent, blocked, unsure,
                                                                       strict=True)],
                   padding=4, fontsize=9)
    axes.set_xlim(0, max(max(lefts[i] + unsure[i] for i in range(len(lefts))), 1) * 1.3)
    axes.set_ylim(-0.6, len(shown) + 0.6)  # room for the legend above the bars
    axes.legend(fontsize=9, frameon=False, loc="upper left", ncols=3)
