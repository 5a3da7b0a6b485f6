"""The 12-week trend of ``/relais stats`` as a PNG, drawn with matplotlib's Agg backend.

``render_weeks`` is blocking (callers run it in a worker thread) and uses a ``Figure`` of
its own with an Agg canvas, never pyplot's global state, so several charts may be drawn at
once in different threads. Every word on it comes from the catalogue of the reader's
language; dates are Babel's.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from babel.dates import format_date
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.i18n import Translator
from domain import WeekCount

#: The picture's size in pixels: wide enough for 12 labelled bars, readable on a phone.
WIDTH, HEIGHT = 1200, 675
DPI = 150
SUBMITTED_COLOUR = "#9db4d6"
APPROVED_COLOUR = "#1f4e8c"


def render_weeks(weeks: Sequence[WeekCount], t: Translator) -> bytes:
    """A bar chart of submissions and approvals per week, as PNG bytes."""
    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = range(len(weeks))
    axes.bar(
        positions,
        [w.submitted for w in weeks],
        width=0.8,
        color=SUBMITTED_COLOUR,
        label=t("stats.chart.submitted"),
    )
    axes.bar(
        positions,
        [w.approved for w in weeks],
        width=0.5,
        color=APPROVED_COLOUR,
        label=t("stats.chart.approved"),
    )
    axes.set_xticks(
        list(positions),
        [format_date(w.start, "d MMM", locale=t.locale) for w in weeks],
        rotation=45,
        ha="right",
        fontsize=11,
    )
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    highest = max((w.submitted for w in weeks), default=0)
    axes.set_ylim(0, max(highest, 1) * 1.15)
    axes.tick_params(axis="y", labelsize=11)
    axes.set_title(t("stats.chart.title"), fontsize=15)
    axes.set_xlabel(t("stats.chart.week_of"), fontsize=12)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(loc="upper left", fontsize=11, frameon=False)
    figure.subplots_adjust(left=0.07, right=0.98, top=0.89, bottom=0.25)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()
