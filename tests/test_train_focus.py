"""Focus sampling of training clips (`fit --focus-region mouth --focus-share 0.35`): rare slider cases drawn more often."""

from __future__ import annotations

import pytest
import torch

from apps.train import focus_region_indices, parser
from pipelines.train.stages import focus_clips, sample_clip_indices

MOUTH = (1,)
EYES = (2,)


def demo_like_scales(count: int = 800, seed: int = 0) -> torch.Tensor:
    """Region scales (n 3: head mouth eyes) drawn like the demo data: all 0 in 15 %, all 1 in 45 %, else independent."""
    g = torch.Generator().manual_seed(seed)
    values = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0])
    scales = values[torch.randint(0, 5, (count, 3), generator=g)]
    kind = torch.rand(count, generator=g)
    scales[kind < 0.15] = 0.0
    scales[(kind >= 0.15) & (kind < 0.6)] = 1.0
    return scales


def test_focus_clips_are_those_whose_region_moves_less_than_another():
    scales = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.5, 2.0], [2.0, 1.5, 0.0], [0.0, 1.0, 0.5]])
    assert focus_clips(scales, MOUTH).tolist() == [0, 3, 4]
    assert focus_clips(scales, (0,)).tolist() == [3, 5]
    assert focus_clips(scales, EYES).tolist() == [0, 4, 5]
    assert focus_clips(scales, MOUTH + EYES).tolist() == [0, 3, 4, 5]  # either region still while another moves


def share_of_focus_rows(scales: torch.Tensor, share: float, steps: int = 2000, batch: int = 2) -> float:
    pool = set(focus_clips(scales, MOUTH).tolist())
    g = torch.Generator().manual_seed(1)
    rows = torch.cat([sample_clip_indices(scales, batch, g, MOUTH, share) for _ in range(steps)])
    assert rows.min() >= 0 and rows.max() < scales.shape[0]
    return sum(int(i) in pool for i in rows) / rows.numel()


@pytest.mark.parametrize("share", [0.35, 0.8])
def test_sampled_batches_hold_the_focus_share(share):
    scales = demo_like_scales()
    base = focus_clips(scales, MOUTH).numel() / scales.shape[0]
    assert 0.1 < base < 0.3
    expected = share + (1 - share) * base  # focus rows plus the focus clips that uniform rows hit
    assert share_of_focus_rows(scales, share) == pytest.approx(expected, abs=0.03)  # 4000 rows: sd < 0.01


def test_share_zero_or_no_region_is_plain_uniform_sampling():
    scales = demo_like_scales()
    base = focus_clips(scales, MOUTH).numel() / scales.shape[0]
    assert share_of_focus_rows(scales, 0.0) == pytest.approx(base, abs=0.03)
    for region, share in ((MOUTH, 0.0), (None, 0.5)):
        g, plain = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
        drawn = sample_clip_indices(scales, 64, g, region, share)
        assert torch.equal(drawn, torch.randint(0, scales.shape[0], (64,), generator=plain))


def test_focus_without_such_clips_and_unknown_regions_are_refused():
    with pytest.raises(ValueError, match="drop the focus option"):
        sample_clip_indices(torch.ones(5, 3), 2, torch.Generator().manual_seed(0), MOUTH, 0.5)
    assert focus_region_indices(["mouth"], ("head", "mouth", "eyes")) == MOUTH
    assert focus_region_indices(None, ("head", "mouth", "eyes")) is None
    with pytest.raises(SystemExit, match="'lips' is not one of"):
        focus_region_indices(["mouth", "lips"], ("head", "mouth", "eyes"))
    args = parser().parse_args(["fit", "--data", "d", "--stage", "2", "--out", "o", "--focus-region", "mouth", "eyes", "--focus-share", "0.5"])
    assert focus_region_indices(args.focus_region, ("head", "mouth", "eyes")) == MOUTH + EYES and args.focus_share == 0.5
