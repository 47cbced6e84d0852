"""The Billing grid's chart: cost per day stacked by meter, one figure per currency, built
server-side with plotly and shipped as figure JSON that grid.js hands to the locally served
plotly.js (the Content-Security-Policy allows no inline script)."""

from collections import defaultdict
from datetime import timedelta

import plotly.graph_objects as go

from metering.billing_dates import DayRange
from metering.billing_selectors import DailyMeterCost

# The statement panel's palette, so the site's charts read alike.
COLORS = ["#2f6fde", "#16a394", "#f2a541", "#d1495b", "#7b5ea7", "#5c946e", "#8d99ae", "#ef8354"]
_FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12}


def _json(figure: go.Figure) -> str:
    """Figure JSON safe to place inside a <script> element."""
    return figure.to_json().replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def cost_per_day(points: list[DailyMeterCost], days: DayRange, currency: str) -> go.Figure:
    """Stacked bars: one trace per meter, a bar for every day of the range (zero when none)."""
    x = [(days.start + timedelta(days=n)).isoformat() for n in range(days.days)]
    costs: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for point in points:
        if point.currency == currency:
            costs[(point.name, point.meter)][point.day.isoformat()] = float(point.cost)
    figure = go.Figure(
        layout={
            "template": "plotly_white",
            "font": _FONT,
            "colorway": COLORS,
            "barmode": "stack",
            "bargap": 0.25,
            "margin": {"l": 56, "r": 16, "t": 8, "b": 40},
            "height": 320,
            "hovermode": "x unified",
            "legend": {"orientation": "h", "y": -0.18},
            "xaxis": {"type": "date", "showgrid": False},
            "yaxis": {"title": {"text": currency}, "rangemode": "tozero", "tickformat": ",.2f"},
        }
    )
    for name, meter in sorted(costs):
        by_day = costs[(name, meter)]
        figure.add_trace(
            go.Bar(
                x=x,
                y=[by_day.get(day, 0.0) for day in x],
                name=name,
                hovertemplate=f"{name}: %{{y:,.2f}} {currency}<extra></extra>",
            )
        )
    return figure


def grid_figures(points: list[DailyMeterCost], days: DayRange) -> dict[str, str]:
    """Figure JSON per currency that has costs in the range, in currency order."""
    currencies = sorted({p.currency for p in points})
    return {c: _json(cost_per_day(points, days, c)) for c in currencies}
