"""Layer 5: reports of a policy comparison — tables, charts and a self-contained HTML page.

Every function takes a :class:`~stepdeal.scenario.Scenario` and ``timelines``
(policy id -> :class:`~stepdeal.sim.Timeline`), never API ``Run`` objects.
"""

from .check_view import check_tables
from .design_view import design_table
from .html import png_data_uri, render_html, write_html
from .plots import (
    pressure_figure,
    save_png,
    summary_figure,
    timeline_figure,
    utilities_figure,
)
from .tables import (
    comparison_row,
    comparison_rows,
    comparison_table,
    period_rows,
    run_table,
    verdict,
)

__all__ = [
    "check_tables",
    "comparison_row",
    "comparison_rows",
    "comparison_table",
    "design_table",
    "period_rows",
    "png_data_uri",
    "pressure_figure",
    "render_html",
    "run_table",
    "save_png",
    "summary_figure",
    "timeline_figure",
    "utilities_figure",
    "verdict",
    "write_html",
]
