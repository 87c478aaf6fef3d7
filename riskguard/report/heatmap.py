"""PNG of estimated liquidation notional over time and price, drawn for a trader rather than an analyst.

Colour uses a power norm (γ = 0.5) on a perceptual colormap so the thin, distant low-leverage levels stay
visible next to a dense band without saturating it; the colour bar carries absolute units because
per-chart normalization hides absolute size (venue-margin-math §10), and it says so, with its unit.  The
price history (candle closes: last traded prices) is a thin white line; the mark, which is what liquidates,
is a separate dash-dot line at its value now: two different prices, so never one colour.  The user's own
liquidation and stop prices are labelled horizontal lines (a legend tells them apart) and a label says IN
BAND when the price sits inside a detected band, so "is my stop inside a band" is read off directly.  The
title and a vertical line give the instant the data is as of.

matplotlib is imported inside the function: the risk core and the CLI's other commands must not pay for
it or need a display.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from riskguard.errors import InputError
from riskguard.risk.bands import Band
from riskguard.risk.liqlevels import LiquidationMap


@dataclass(frozen=True)
class LineStyle:
    colour: str
    line: str | tuple[float, tuple[float, ...]]
    """A matplotlib line style: a name or (offset, on-off dash sequence)."""
    width: float


MARK = LineStyle("#7fdbff", "-.", 1.4)
HISTORY = LineStyle("#f5f5f5", "-", 0.8)
"""Candle closes in white, solid and thin; the mark line is cyan dash-dot."""
LIQUIDATION = LineStyle("#ff4136", "--", 1.6)
STOP = LineStyle("#2ecc40", (0, (1, 1.5)), 2.2)
"""Liquidation dashed red, stops densely dotted green and heavier: told apart in colour and in grey."""


def _compact(value: float) -> str:
    for unit, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.1f}{unit}"
    return f"{value:.0f}"


def colour_scale_label(bin_width: float, quote: str) -> str:
    """What one colour means, in what unit, and that the scale is not linear."""
    return (f"estimated liquidation notional ({quote}) per {bin_width:.4g} {quote} price bin\n"
            "colour ∝ √notional (power scale, γ = 0.5)")


def render_heatmap(
    heatmap: LiquidationMap,
    path: str | Path,
    *,
    mark_price: float,
    price_times: np.ndarray | None = None,
    prices: np.ndarray | None = None,
    liquidation_prices: Mapping[str, float] | None = None,
    stop_prices: Mapping[str, float] | None = None,
    bands: Sequence[Band] = (),
    title: str = "Estimated liquidation levels",
    quote: str = "USDT",
    window_pct: float = 12.0,
    as_of_ms: int | None = None,
) -> Path:
    """Write the heatmap PNG to ``path`` and return it.

    :param prices: the mark (or close) series drawn over the map, at ``price_times``.
    :param liquidation_prices: label → price of the user's own liquidation prices.
    :param stop_prices: label → price of the user's stops.
    :param bands: annotated with side and notional at the right edge (top five by notional).
    :param window_pct: price range shown around mark; widened to keep every user price in view.
    :param as_of_ms: the instant the data is as of (the snapshot's); the heatmap's last column when None.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"cannot write the heatmap: folder {path.parent} does not exist", str(path))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import PowerNorm

    liquidation_prices = dict(liquidation_prices or {})
    stop_prices = dict(stop_prices or {})
    edges = heatmap.price_edges
    density = heatmap.density
    times = heatmap.times
    step = times[1] - times[0] if times.size > 1 else np.timedelta64(1, "m")
    x_edges = np.concatenate([[times[0] - step], times])

    user = [mark_price, *liquidation_prices.values(), *stop_prices.values()]
    lo = min(mark_price * (1 - window_pct / 100), *user) * 0.995
    hi = max(mark_price * (1 + window_pct / 100), *user) * 1.005
    rows = (edges[1:] >= lo) & (edges[:-1] <= hi)
    shown = density[:, rows]
    vmax = float(shown.max()) if shown.size and shown.max() > 0 else 1.0

    fig, ax = plt.subplots(figsize=(14, 8), dpi=110, constrained_layout=True)
    ax.set_facecolor("black")
    mesh = ax.pcolormesh(
        x_edges, edges, density.T, cmap="inferno", norm=PowerNorm(gamma=0.5, vmin=0.0, vmax=vmax),
        shading="flat", rasterized=True,
    )
    bar = fig.colorbar(mesh, ax=ax, pad=0.01)
    bar.set_label(colour_scale_label(float(edges[1] - edges[0]), quote))
    bar.ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: _compact(v)))
    if prices is not None and price_times is not None:
        ax.plot(price_times, prices, color=HISTORY.colour, lw=HISTORY.width, ls=HISTORY.line)
    as_of = times[-1] if as_of_ms is None else np.datetime64(int(as_of_ms), "ms")
    ax.axvline(as_of, color="#bbbbbb", lw=0.8, ls=":")  # type: ignore[arg-type]  # matplotlib takes datetimes

    right = times[-1]
    lines = [("mark", mark_price, MARK)]
    lines += [(f"LIQ {k}", v, LIQUIDATION) for k, v in liquidation_prices.items()]
    lines += [(f"STOP {k}", v, STOP) for k, v in stop_prices.items()]
    for label, price, style in lines:
        ax.axhline(price, color=style.colour, lw=style.width, ls=style.line)
        inside = style is not MARK and any(b.contains(price) for b in bands)
        ax.annotate(
            f"{label} {price:,.2f}" + ("  IN BAND" if inside else ""), (right, price), xytext=(6, 0),
            textcoords="offset points",
            color=style.colour, fontsize=9, va="center", ha="left", annotation_clip=False, fontweight="bold",
        )
    for band in sorted(bands, key=lambda b: b.notional, reverse=True)[:5]:
        ax.axhspan(band.price_low, band.price_high, xmin=0.985, xmax=1.0, color="white", alpha=0.8)
        ax.annotate(
            f"{band.side} liq band {_compact(band.notional)} {quote} ({band.distance_pct:+.1f}%)",
            (right, band.peak_price), xytext=(-8, 0), textcoords="offset points", color="white", fontsize=8.5,
            ha="right", va="center", bbox={"boxstyle": "round,pad=0.2", "fc": "black", "alpha": 0.6, "lw": 0},
        )

    from matplotlib.artist import Artist
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    legend: list[Artist] = [
        Line2D([], [], color=MARK.colour, lw=MARK.width, ls=MARK.line, label="mark price now (liquidates)")
    ]
    if prices is not None and price_times is not None:
        legend.append(Line2D([], [], color=HISTORY.colour, lw=HISTORY.width * 2, ls=HISTORY.line,
                             label="last price history (candle closes)"))
    if liquidation_prices:
        legend.append(Line2D([], [], color=LIQUIDATION.colour, lw=LIQUIDATION.width, ls=LIQUIDATION.line,
                             label="your liquidation price"))
    if stop_prices:
        legend.append(Line2D([], [], color=STOP.colour, lw=STOP.width, ls=STOP.line,
                             label="your stop (trigger price)"))
    if bands:
        legend.append(Patch(color="white", alpha=0.8, label="crowded liquidation band (edge marker)"))
    ax.legend(handles=legend, loc="upper left", fontsize=9, facecolor="black", edgecolor="#888888",
              labelcolor="white", framealpha=0.75)

    ax.set_ylim(lo, hi)
    ax.set_xlim(x_edges[0], max(x_edges[-1], as_of))
    ax.set_ylabel(f"price ({quote})")
    ax.set_xlabel("time (UTC)")
    ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    stamp = np.datetime_as_string(as_of.astype("datetime64[m]"), unit="m").replace("T", " ")
    ax.set_title(f"{title} · as of {stamp} UTC\n"
                 "long liquidations sit below mark, short liquidations above; estimates, not observations")
    try:
        fig.savefig(path)
    except OSError as exc:
        raise InputError(f"cannot write the heatmap: {exc.strerror or exc}", str(path)) from None
    finally:
        plt.close(fig)
    return path
