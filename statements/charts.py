"""The statement panel's charts, built server-side with plotly and shipped as figure JSON that
the page hands to the locally served plotly.js.

Monthly costs: a pie by pool (default), machine type or region. Hourly metrics: hourly cost
(default), cost by pool, machines per hour, cost by machine type, cost per region.
"""

import plotly.graph_objects as go

from .models import Statement
from .selectors import HourlySeries, Sections, Share

PIE_CHOICES: dict[str, str] = {
    "pool": "By pool",
    "machine_type": "By machine type",
    "region": "By region",
}
HOURLY_CHOICES: dict[str, str] = {
    "cost": "Hourly cost",
    "pool": "Cost by pool",
    "machines": "Machines per hour",
    "machine_type": "Cost by machine type",
    "region": "Cost per region",
}
# A calm qualitative palette that reads well on white and in print.
COLORS = ["#2f6fde", "#16a394", "#f2a541", "#d1495b", "#7b5ea7", "#5c946e", "#8d99ae", "#ef8354"]
_FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12}


def _layout(**extra: object) -> dict:
    return {
        "template": "plotly_white",
        "font": _FONT,
        "colorway": COLORS,
        "margin": {"l": 48, "r": 16, "t": 8, "b": 40},
        "height": 320,
        "legend": {"orientation": "h", "y": -0.18},
        **extra,
    }


def _json(figure: go.Figure) -> str:
    """Figure JSON safe to place inside a <script> element."""
    return figure.to_json().replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _empty(text: str) -> dict:
    """No data: the message in the middle of the plot area (paper coordinates; plotly would
    place it at data point 0,0) and no axes."""
    return {
        "annotations": [
            {
                "text": text,
                "showarrow": False,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "font": {"size": 14, "color": "#6c757d"},
            }
        ],
        "xaxis": {"visible": False},
        "yaxis": {"visible": False},
    }


def cost_pie(shares: list[Share], currency: str) -> go.Figure:
    shares = [s for s in shares if s.total > 0]
    layout = _layout(margin={"l": 8, "r": 8, "t": 8, "b": 8}, legend={"orientation": "v"})
    if not shares:
        return go.Figure(layout={**layout, **_empty("No charges this month")})
    return go.Figure(
        go.Pie(
            labels=[s.key for s in shares],
            values=[float(s.total) for s in shares],
            hole=0.55,
            sort=False,
            textinfo="percent",
            hovertemplate=f"%{{label}}<br>%{{value:,.2f}} {currency}<extra></extra>",
        ),
        layout=layout,
    )


def hourly_figure(metric: str, series: HourlySeries, currency: str) -> go.Figure:
    if not any(series.machines):
        # No trace at all: an all-zero series would still draw a stray point.
        return go.Figure(layout=_layout(**_empty("No usage this month")))
    x = [f"{hour:%Y-%m-%d %H:%M}" for hour in series.hours]
    figure = go.Figure(
        layout=_layout(
            hovermode="x unified",
            xaxis={"type": "date", "showgrid": False},
            yaxis={
                "title": {"text": "machines" if metric == "machines" else currency},
                "rangemode": "tozero",
                **({"tickformat": ",d"} if metric == "machines" else {}),
            },
        )
    )
    if metric == "machines":
        figure.add_trace(go.Bar(x=x, y=series.machines, name="Machines", marker_color=COLORS[1]))
    elif metric == "cost":
        figure.add_trace(
            go.Scatter(
                x=x,
                y=[round(v, 4) for v in series.cost],
                name="Cost",
                mode="lines",
                fill="tozeroy",
                line={"width": 1.5, "color": COLORS[0]},
                hovertemplate=f"%{{y:,.2f}} {currency}<extra></extra>",
            )
        )
    else:
        for name, values in series.by[metric].items():
            figure.add_trace(
                go.Scatter(
                    x=x,
                    y=[round(v, 4) for v in values],
                    name=name,
                    mode="lines",
                    stackgroup="one",
                    line={"width": 0.5},
                    hovertemplate=f"{name}: %{{y:,.2f}} {currency}<extra></extra>",
                )
            )
    return figure


def statement_figures(
    statement: Statement, sections: Sections, series: HourlySeries
) -> dict[str, str]:
    """Every chart of the panel as figure JSON, keyed 'pie-<choice>' and 'hourly-<choice>'."""
    pies = {
        "pool": sections.by_pool,
        "machine_type": sections.by_machine_type,
        "region": sections.by_region,
    }
    figures = {f"pie-{key}": _json(cost_pie(pies[key], statement.currency)) for key in PIE_CHOICES}
    figures.update(
        {
            f"hourly-{key}": _json(hourly_figure(key, series, statement.currency))
            for key in HOURLY_CHOICES
        }
    )
    return figures
