"""Benchmark `Matcher`: index build time, match latency (p50/p99), peak memory, at 3 FAQ sizes.

Run from the project root:

    .venv/bin/python bench/bench_matching.py

Sizes: the shipped FAQ (queries: tests/eval/test.yaml), then synthetic FAQs of 1,000 and 10,000
entries x 10 phrasings built from the shipped FAQ's own French vocabulary (queries: 500 perturbed
synthetic phrasings plus the test.yaml questions). Timings come from a plain pass; peak memory
(tracemalloc: Python allocations while building the index and matching every query) from a second
pass, since tracemalloc slows allocation-heavy code down.
Targets: p99 < 5 ms shipped, < 50 ms at 10k entries.
"""

from __future__ import annotations

import gc
import random
import re
import resource
import sys
import time
import tracemalloc
import unicodedata
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np

from careerbot import normalize
from careerbot.evaluation import load_cases
from careerbot.faq import Entry, Faq
from careerbot.faq_loader import load_faq
from careerbot.matching import Matcher, Settings

ROOT = Path(__file__).resolve().parent.parent
SEED = 2024
PHRASINGS = 10
PERTURBED_QUERIES = 500
WARMUP = ("bonjour comment passer un concours ?", "salaire d'un fonctionnaire débutant",
          "c koi un contractuel", "how do I apply?", "alternance dans la fonction publique")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_TAG = re.compile(r"<[^>]+>")


def vocabulary(faq: Faq) -> list[str]:
    """Every French word of the FAQ (phrasings, answers), repeats kept: frequency-weighted."""
    texts = [text for e in faq.entries
             for text in (e.question, *e.alternatives, _TAG.sub(" ", e.answer))]
    return [w.lower() for text in texts for w in _WORD.findall(text)]


def rare_word(rng: random.Random) -> str:
    """A made-up word, rare by construction: an entry-specific term."""
    syllables = ("ba", "co", "di", "fé", "gu", "li", "mo", "nu", "pra", "ré", "sto", "tri", "vé")
    return "".join(rng.choice(syllables) for _ in range(rng.randint(3, 4)))


def synthetic_faq(faq: Faq, size: int, rng: random.Random) -> Faq:
    """`size` entries x 10 phrasings of 4-12 words: FAQ words plus one of 3 rare entry words."""
    vocab = vocabulary(faq)
    entries = []
    for i in range(size):
        rare = [rare_word(rng) for _ in range(3)]
        phrasings = []
        for _ in range(PHRASINGS):
            words = rng.choices(vocab, k=rng.randint(3, 11))
            words.insert(rng.randrange(len(words) + 1), rng.choice(rare))
            phrasings.append(" ".join(words).capitalize() + " ?")
        entries.append(Entry(id=f"syn-{i:05d}", theme="synthetic", question=phrasings[0],
                             alternatives=tuple(phrasings[1:]), answer=f"Réponse {i}.",
                             links=(), related=(), tags=(), reviewed=date(2025, 1, 1)))
    return Faq(entries=tuple(entries), themes=(), smalltalk=faq.smalltalk)


def strip_accents(text: str) -> str:
    """The text without diacritics, as typed on a phone without accents."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def perturb(phrasing: str, rng: random.Random) -> str:
    """A user-like variant: one word dropped, two letters swapped, accents removed half the time."""
    words = phrasing.split()
    if len(words) > 2:
        del words[rng.randrange(len(words))]
    target = rng.randrange(len(words))
    word = words[target]
    if len(word) > 3:
        k = rng.randrange(len(word) - 1)
        words[target] = word[:k] + word[k + 1] + word[k] + word[k + 2:]
    text = " ".join(words)
    return strip_accents(text) if rng.random() < 0.5 else text


def synthetic_queries(faq: Faq, rng: random.Random) -> list[str]:
    """Perturbed copies of random phrasings of a synthetic FAQ."""
    return [perturb(rng.choice(rng.choice(faq.entries).phrasings()), rng)
            for _ in range(PERTURBED_QUERIES)]


def clear_caches() -> None:
    """Empty normalize's lru caches so that no run benefits from an earlier one."""
    normalize.words.cache_clear()


def timed_run(faq: Faq, settings: Settings, queries: Sequence[str]) -> tuple[float, list[int]]:
    """Index build time (s) and each query's match latency (ns), without tracemalloc."""
    clear_caches()
    gc.collect()
    start = time.perf_counter()
    matcher = Matcher(faq, settings)
    build = time.perf_counter() - start
    for text in WARMUP:
        matcher.match(text)
    gc.collect()
    latencies = []
    for text in queries:
        t0 = time.perf_counter_ns()
        matcher.match(text)
        latencies.append(time.perf_counter_ns() - t0)
    return build, latencies


def peak_memory_mb(faq: Faq, settings: Settings, queries: Sequence[str]) -> float:
    """tracemalloc peak (MB) of building the index and matching every query."""
    clear_caches()
    gc.collect()
    tracemalloc.start()
    try:
        matcher = Matcher(faq, settings)
        for text in queries:
            matcher.match(text)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def bench(name: str, faq: Faq, settings: Settings, queries: Sequence[str]) -> str:
    """One table row for this FAQ and query set."""
    build, latencies = timed_run(faq, settings, queries)
    p50, p99 = np.percentile(np.array(latencies) / 1e6, [50, 99])
    peak = peak_memory_mb(faq, settings, queries)
    phrasings = sum(len(e.phrasings()) for e in faq.entries)
    return (f"{name:<18}{len(faq.entries):>8}{phrasings:>11}{len(queries):>9}"
            f"{build:>9.2f}{p50:>8.2f}{p99:>8.2f}{peak:>9.1f}")


def main() -> None:
    """Print the benchmark table."""
    faq, _ = load_faq(ROOT / "faq")
    settings = Settings.from_mapping(faq.matching)
    questions = [case.q for case in load_cases(ROOT / "tests/eval/test.yaml")]
    print(f"{'size':<18}{'entries':>8}{'phrasings':>11}{'queries':>9}"
          f"{'index_s':>9}{'p50_ms':>8}{'p99_ms':>8}{'peak_MB':>9}", flush=True)
    print(bench("shipped", faq, settings, questions), flush=True)
    for size in (1_000, 10_000):
        rng = random.Random(SEED + size)
        synthetic = synthetic_faq(faq, size, rng)
        queries = synthetic_queries(synthetic, rng) + questions
        print(bench(f"synthetic-{size // 1000}k", synthetic, settings, queries), flush=True)
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    maxrss_mb = maxrss / 2**20 if sys.platform == "darwin" else maxrss / 2**10  # bytes vs KiB
    print(f"process maxrss: {maxrss_mb:.1f} MB")


if __name__ == "__main__":
    main()
