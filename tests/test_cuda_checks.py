"""bench/cuda_checks.py: the shipped model on a device against the CPU (the CUDA rows run in bench/gpu_full.sh)."""

import pytest
import torch

from bench import cuda_checks


def test_cpu_twin_matches_itself_exactly(tmp_path):
    result = cuda_checks.main(["--device", "cpu", "--frames", "12", "--steps", "2", "--out", str(tmp_path / "c.json")])
    assert result["fp32"]["max_abs_diff_vs_cpu"] == 0.0
    assert result["fp16_autocast"]["max_abs_diff_vs_cpu"] == 0.0  # no autocast on the CPU
    assert result["fp16_autocast"]["latent_psnr_vs_cpu"] is None
    assert result["replicas"]["max_abs_diff_vs_one_device"] == 0.0
    low, high = result["latent_range"]
    assert low < -0.5 and high > 0.5  # a real video, not zeros
    assert (tmp_path / "c.json").read_text().startswith("{")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA; the CPU twin above runs everywhere")
def test_cuda_matches_cpu(tmp_path):
    result = cuda_checks.main(["--frames", "24", "--steps", "4", "--out", str(tmp_path / "c.json")])
    assert result["fp32"]["max_abs_diff_vs_cpu"] < 1e-2
    assert result["fp16_autocast"]["latent_psnr_vs_cpu"] > 30
    assert result["replicas"]["max_abs_diff_vs_one_device"] < 1e-2
