"""Host fixtures: one real ComfyUI server for the whole test session, shared by every host test."""

import pytest

from scripts.comfy_host import ComfyHost


@pytest.fixture(scope="session")
def comfy_host(tmp_path_factory):
    """A running host with the pack linked in; tests write tiny checkpoints under `comfy_host.models_dir`.

    Model folders: `comfy_host.models_dir / <folder>` (e.g. `vae`, `audio_encoders`, `gated_portrait`);
    input files go to `comfy_host.input_dir`, outputs land in `comfy_host.output_dir`.
    """
    with ComfyHost(tmp_path_factory.mktemp("comfy_host")) as host:
        yield host


def pytest_collection_modifyitems(items):
    """Mark every test that uses the host `host`, so `-m "not host"` gives a quick host-free run."""
    for item in items:
        if "comfy_host" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.host)
