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
