import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "risk"))
from market_simulator import simulate_market

from riskguard.report.heatmap import render_heatmap
from riskguard.risk.bands import detect_bands
from riskguard.risk.liqlevels import estimate_levels


def test_render_heatmap_when_simulated_market_then_writes_labelled_png(tmp_path):
    import matplotlib.image as mpimg

    market = simulate_market(seed=0, bars=1_440)
    est = estimate_levels(market.history, market.venue)
    mark = est.profile.mark_price
    liq = mark * 0.91
    out = render_heatmap(
        est.heatmap, tmp_path / "bands.png", mark_price=mark, price_times=market.history.times,
        prices=market.history.close, liquidation_prices={"long 10x": liq}, stop_prices={"long": mark * 0.96},
        bands=detect_bands(est.profile),
    )
    image = mpimg.imread(out)
    assert image.shape == (880, 1540, 4)  # 14 × 8 in at 110 dpi
    # the dashed liquidation line is drawn in #ff4136 (255, 65, 54)
    red = np.all(np.abs(image[..., :3] - np.array([255, 65, 54]) / 255) < 0.02, axis=-1)
    assert red.sum() > 300


def _drawn_figure(tmp_path, monkeypatch, **kw):
    """Render and keep the figure (render_heatmap closes it) to read its texts back."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kept = []
    monkeypatch.setattr(plt, "close", kept.append)
    market = simulate_market(seed=0, bars=1_440)
    est = estimate_levels(market.history, market.venue)
    mark = est.profile.mark_price
    render_heatmap(est.heatmap, tmp_path / "bands.png", mark_price=mark, price_times=market.history.times,
                   prices=market.history.close, liquidation_prices={"long 10x": mark * 0.91},
                   bands=detect_bands(est.profile), quote="USDT", **kw)
    (fig,) = kept
    return fig, est


def test_render_heatmap_when_drawn_then_history_and_mark_told_apart_in_the_legend(tmp_path, monkeypatch):
    fig, _ = _drawn_figure(tmp_path, monkeypatch)
    ax = fig.axes[0]
    labels = {t.get_text(): h for h, t in zip(ax.get_legend().legend_handles, ax.get_legend().get_texts(),
                                              strict=True)}
    assert "mark price now (liquidates)" in labels and "last price history (candle closes)" in labels
    mark, history = labels["mark price now (liquidates)"], labels["last price history (candle closes)"]
    assert (mark.get_color(), mark.get_linestyle()) != (history.get_color(), history.get_linestyle())
    assert mark.get_color() != history.get_color()


def test_render_heatmap_when_drawn_then_colour_scale_unit_and_as_of_stated(tmp_path, monkeypatch):
    as_of = 1_795_275_540_932  # 2026-11-21 15:39:00.932 UTC
    fig, est = _drawn_figure(tmp_path, monkeypatch, as_of_ms=as_of)
    colorbar_label = fig.axes[1].get_ylabel()
    width = est.heatmap.price_edges[1] - est.heatmap.price_edges[0]
    assert colorbar_label.startswith(f"estimated liquidation notional (USDT) per {width:.4g} USDT price bin")
    assert "power scale, γ = 0.5" in colorbar_label
    assert "as of 2026-11-21 15:39 UTC" in fig.axes[0].get_title()


def test_render_heatmap_when_no_as_of_then_the_last_column_is_named(tmp_path, monkeypatch):
    fig, est = _drawn_figure(tmp_path, monkeypatch)
    last = np.datetime_as_string(est.heatmap.times[-1].astype("datetime64[m]"), unit="m").replace("T", " ")
    assert f"as of {last} UTC" in fig.axes[0].get_title()
