"""The summary's two pictures: pass rates per exercise, and the spread of scores."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)


def pass_rates_plot(rates: dict[str, float], lesson: str, path: Path) -> None:
    """Each exercise's share of students with full marks, as horizontal bars."""
    figure, axes = plt.subplots(figsize=(7, 0.5 + 0.45 * max(len(rates), 1)))
    names = list(rates)[::-1]
    axes.barh(names, [100 * rates[n] for n in names], color="#2f6fbf")
    axes.set_xlim(0, 100)
    axes.set_xlabel("students with full marks (%)")
    axes.set_title(lesson)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def scores_histogram(scores: Sequence[tuple[float, float]], lesson: str, path: Path) -> None:
    """How many students got each total score, from 0 to the maximum; ``scores`` holds (score, max_score) pairs."""
    most = max((maximum for _, maximum in scores), default=0)
    counts: dict[float, int] = {}
    for score, _ in scores:
        counts[score] = counts.get(score, 0) + 1
    figure, axes = plt.subplots(figsize=(7, 3.2))
    axes.bar(list(counts), list(counts.values()), width=0.8 if most > 1 else 0.4, color="#2f6fbf")
    axes.set_xlim(-0.6, most + 0.6)
    axes.set_xlabel(f"score (out of {most:g})")
    axes.set_ylabel("students")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set_title(f"{lesson}: scores of {len(scores)} students")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
