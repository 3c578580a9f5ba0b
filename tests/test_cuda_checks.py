"""bench/cuda_checks.py: the shipped model on a device against the CPU (the CUDA rows run in bench/gpu_full.sh)."""

import json

import pytest
import torch

from bench import cuda_checks
from pipelines.model_files import replicate


def _drifted_replicate(model, device):
    """A device copy whose weights differ from the CPU model's by 1e-3, as a faulty device path would."""
    copy = replicate(model, device)
    with torch.no_grad():
        for parameter in copy.parameters():
            parameter.add_(1e-3)
    return copy


def test_every_row_catches_a_device_that_differs_from_the_cpu(tmp_path, monkeypatch):
    """The rows compare two sampling paths: a device copy that drifts must show in each of them (a row that compared
    the CPU with itself would report 0)."""
    monkeypatch.setattr(cuda_checks, "replicate", _drifted_replicate)
    result = cuda_checks.main(["--device", "cpu", "--frames", "12", "--steps", "2", "--out", str(tmp_path / "c.json")])
    assert result["fp32"]["max_abs_diff_vs_cpu"] > 1e-3
    assert result["fp16_autocast"]["latent_psnr_vs_cpu"] is not None  # not identical: a finite PSNR
    assert result["fp16_autocast"]["max_abs_diff_vs_cpu"] == result["fp32"]["max_abs_diff_vs_cpu"]  # no autocast on the CPU
    assert result["replicas"]["max_abs_diff_vs_one_device"] > 1e-3  # windows alternate between the drifted and the CPU model
    low, high = result["latent_range"]
    assert low < -0.5 and high > 0.5  # a real video, not zeros
    assert json.loads((tmp_path / "c.json").read_text())["fp32"] == result["fp32"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA; the CPU test above runs everywhere")
def test_cuda_matches_cpu(tmp_path):
    result = cuda_checks.main(["--frames", "24", "--steps", "4", "--out", str(tmp_path / "c.json")])
    assert result["fp32"]["max_abs_diff_vs_cpu"] < 1e-2
    assert result["fp16_autocast"]["latent_psnr_vs_cpu"] > 30
    assert result["replicas"]["max_abs_diff_vs_one_device"] < 1e-2
