"""Hallo's net.pth -> net.safetensors: the converted file loads to the same tensors and the same model, a .pth that
holds code or another layout is refused with nothing written, and the script converts once."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from hallo_fixtures import TINY_HALLO, tiny_hallo_model
from pipelines.errors import CheckpointError
from pipelines.hallo_checkpoint import convert_net_to_safetensors, hallo_state_dict, load_hallo_model, shared_storage_free
from scripts import convert_hallo_net


def write_net_pth(folder: Path, extra: dict | None = None) -> Path:
    """A tiny Hallo-shaped net.pth with its config sidecar (net.json), as scripts/make_hallo_models.py writes it."""
    folder.mkdir(parents=True, exist_ok=True)
    model = tiny_hallo_model(seed=3)
    (folder / "net.json").write_text(TINY_HALLO.to_json())
    torch.save({**hallo_state_dict(model), **(extra or {})}, folder / "net.pth")
    return folder / "net.pth"


class RunsCode:
    """Unpickling this would create `marker` (what a malicious checkpoint does with its own code)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_converted_file_holds_the_same_tensors_and_loads_the_same_model(tmp_path):
    net_pth = write_net_pth(tmp_path / "hallo")
    target = convert_net_to_safetensors(net_pth)
    assert target == tmp_path / "hallo" / "net.safetensors"
    assert (tmp_path / "hallo" / "net.json").read_text() == TINY_HALLO.to_json()
    original = torch.load(net_pth, weights_only=True)
    converted = load_file(str(target))
    assert converted.keys() == original.keys()
    for key, tensor in original.items():
        assert converted[key].dtype == tensor.dtype and torch.equal(converted[key], tensor), key
    from_pth, from_safetensors = load_hallo_model(net_pth).state_dict(), load_hallo_model(target).state_dict()
    assert all(torch.equal(from_pth[key], from_safetensors[key]) for key in from_pth)


def test_a_pth_holding_code_is_refused_and_its_code_never_runs(tmp_path):
    marker = tmp_path / "code_ran"
    net_pth = write_net_pth(tmp_path / "hallo", {"payload": RunsCode(marker)})
    with pytest.raises(CheckpointError, match=r"refused, the file holds Python objects.*Fix:"):
        convert_net_to_safetensors(net_pth)
    assert not marker.exists()
    assert not (tmp_path / "hallo" / "net.safetensors").exists()


def test_a_pth_of_another_layout_is_refused_naming_the_keys_and_nothing_is_written(tmp_path):
    net_pth = write_net_pth(tmp_path / "hallo", {"reference_unet.extra.weight": torch.zeros(2)})
    with pytest.raises(CheckpointError, match=r"1 unexpected keys: reference_unet\.extra\.weight.*Fix:"):
        convert_net_to_safetensors(net_pth)
    assert sorted(p.name for p in net_pth.parent.iterdir()) == ["net.json", "net.pth"]


def test_tensors_sharing_memory_are_stored_apart():
    weight = torch.arange(6.0)
    free = shared_storage_free({"a": weight, "b": weight, "c": weight[:3]})
    assert free["a"].data_ptr() == weight.data_ptr()
    assert len({tensor.untyped_storage().data_ptr() for tensor in free.values()}) == 3
    assert torch.equal(free["c"], weight[:3])


def test_script_converts_once_and_reports_a_refused_file(tmp_path, capsys):
    net_pth = write_net_pth(tmp_path / "hallo")
    assert convert_hallo_net.main([str(net_pth)]) == 0
    written = (tmp_path / "hallo" / "net.safetensors").stat().st_mtime_ns
    assert convert_hallo_net.main([str(net_pth)]) == 0
    assert "already converted" in capsys.readouterr().out
    assert (tmp_path / "hallo" / "net.safetensors").stat().st_mtime_ns == written

    bad = write_net_pth(tmp_path / "bad", {"payload": RunsCode(tmp_path / "code_ran")})
    assert convert_hallo_net.main([str(bad)]) == 1
    assert "refused" in capsys.readouterr().err and not (tmp_path / "code_ran").exists()
