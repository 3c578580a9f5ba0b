"""Clip parallelism: two gloo ranks, or two model replicas in one process, give the single-process latents bit
for bit and split the window passes."""

from __future__ import annotations

import copy
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from pipelines.tiny_models import TINY, tiny_conditions, tiny_model
from pipelines.clip_parallel import DistributedWindows, LocalWindows, ReplicaWindows
from pipelines.errors import PortraitInputError
from pipelines.sampler import LongVideoOptions, SamplerSettings, sample_video, window_schedule
from pipelines.speed_options import SpeedOptions
from pipelines.window_schedules import shift_fusion_schedule

STEPS = 3
F = TINY.clip_length
#: frames a multiple of f, not a multiple, and fewer than f; both seams; the overlap baseline too
CASES = [(frames, LongVideoOptions(alpha=3, seam=seam)) for frames in (2 * F, F + 5, F - 3) for seam in ("silent_pad", "circular")]
CASES.append((F + 5, LongVideoOptions(strategy="overlap", overlap=3)))
#: ranks and replicas run one window per model call; a single process batches 4 on the CPU by default, which moves
#: the floats by ~1e-6 (other GEMM blocking), so the bit-for-bit comparison uses one window per call everywhere
ONE_WINDOW_PER_CALL = SpeedOptions(window_batch=1)


def _name(frames: int, options: LongVideoOptions) -> str:
    return f"{options.strategy}-{options.seam}-{frames}"


def _sample_cases(windows: LocalWindows, model: torch.nn.Module | None = None) -> tuple[dict[str, torch.Tensor], list[int]]:
    """Latents and window passes of this process for every case, with three CFG branches."""
    torch.set_num_threads(1)
    model = model or tiny_model(alpha=0.2)
    latents, passes = {}, []
    for frames, options in CASES:
        before = windows.passes
        latents[_name(frames, options)] = sample_video(
            model, tiny_conditions(frames), SamplerSettings(steps=STEPS, seed=5), options, windows=windows, speed=ONE_WINDOW_PER_CALL
        )
        passes.append(windows.passes - before)
    return latents, passes


def _rank_main(rank: int, world_size: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size, timeout=timedelta(seconds=30)
    )
    latents, passes = _sample_cases(DistributedWindows())
    torch.save({"latents": latents, "passes": passes}, f"{out_dir}/rank{rank}.pt")
    if rank == 0:  # rank 1 leaves now: rank 0's next collective must fail instead of hanging
        try:
            sample_video(tiny_model(), tiny_conditions(2 * F), SamplerSettings(steps=2), windows=DistributedWindows())
            outcome = "finished"
        except RuntimeError as error:
            outcome = f"failed: {error}"
        (Path(out_dir) / "outcome.txt").write_text(outcome)
    dist.destroy_process_group()


def test_two_gloo_ranks_match_one_process_bit_for_bit_and_a_lost_rank_fails_the_job(tmp_path):
    mp.spawn(_rank_main, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    single, single_passes = _sample_cases(LocalWindows())
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    for frames, options in CASES:
        name = _name(frames, options)
        for rank in ranks:
            assert rank["latents"][name].shape == (1, 4, frames, 8, 8)
            assert torch.equal(rank["latents"][name], single[name]), name
    forwards = [window_schedule(frames, F, STEPS, options).clip_forwards for frames, options in CASES]
    assert single_passes == forwards
    assert [a + b for a, b in zip(ranks[0]["passes"], ranks[1]["passes"])] == forwards
    # windows r, r+2, ...: rank 0 runs the odd one out; a video shorter than a clip is one window, on rank 0
    assert [p for p, (frames, _) in zip(ranks[1]["passes"], CASES) if frames < F] == [0, 0]
    assert all(0 <= a - b <= STEPS for a, b in zip(ranks[0]["passes"], ranks[1]["passes"]))
    assert (tmp_path / "outcome.txt").read_text().startswith("failed: ")


def test_shift_fusion_window_count_per_rank_follows_eq5():
    schedule = shift_fusion_schedule(10 * F + 1, F, 4, alpha=7, seam="silent_pad")
    k = len(schedule.steps[0])
    assert k == 11
    split = [sum(1 for _ in range(r, k, 3)) for r in range(3)]
    assert split == [4, 4, 3] and sum(split) * 4 == schedule.clip_forwards


class _TwoRanks(LocalWindows):
    world_size = 2


def test_motion_frames_refuses_several_ranks():
    with pytest.raises(PortraitInputError) as error:
        sample_video(tiny_model(), tiny_conditions(F + 2), SamplerSettings(steps=1),
                     LongVideoOptions(strategy="motion_frames"), windows=_TwoRanks())
    assert error.value.input_name == "strategy"


def test_two_replicas_in_one_process_match_one_replica_bit_for_bit():
    model = tiny_model(alpha=0.2)
    single, single_passes = _sample_cases(LocalWindows(), model)
    replicas = ReplicaWindows([model, copy.deepcopy(model)])  # two CPU replicas stand in for two GPUs
    spread, spread_passes = _sample_cases(replicas, model)
    for frames, options in CASES:
        name = _name(frames, options)
        assert spread[name].shape == (1, 4, frames, 8, 8)
        assert torch.equal(spread[name], single[name]), name
    assert spread_passes == single_passes
    first, second = replicas.passes_per_replica
    assert first + second == sum(single_passes) and second > 0 and 0 <= first - second <= STEPS * len(CASES)


def test_replica_error_and_interrupt_stop_every_replica_thread():
    model = tiny_model()
    broken = copy.deepcopy(model)
    broken.predict = lambda *args, **kwargs: (_ for _ in ()).throw(RuntimeError("replica lost its device"))
    threads_before = threading.active_count()
    with pytest.raises(RuntimeError, match="replica lost its device"):
        sample_video(model, tiny_conditions(3 * F), SamplerSettings(steps=2), windows=ReplicaWindows([model, broken]))

    def interrupt(done, total, preview):
        if done == 2:
            raise KeyboardInterrupt("cancelled by the user")

    windows = ReplicaWindows([model, copy.deepcopy(model)])
    with pytest.raises(KeyboardInterrupt):
        sample_video(model, tiny_conditions(3 * F), SamplerSettings(steps=3), callback=interrupt, windows=windows)
    assert windows.passes == 2  # aborted inside the first step (4 windows)
    assert threading.active_count() == threads_before


def test_deep_cache_refuses_windows_spread_over_replicas():
    model = tiny_model()
    with pytest.raises(ValueError, match="deep_cache_interval"):
        sample_video(model, tiny_conditions(2 * F), SamplerSettings(steps=2), windows=ReplicaWindows([model, copy.deepcopy(model)]),
                     speed=SpeedOptions(deep_cache_interval=2))
