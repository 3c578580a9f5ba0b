"""examples/api_batch.py's job loop against a scripted server: it waits for the job's /history entry."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "api_batch.py"


def _api_batch():
    spec = importlib.util.spec_from_file_location("api_batch", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


class _ScriptedServer:
    """ComfyUI's order of events for one prompt: /history is written after `execution_success`, before `executing`
    with node null (main.py's prompt_worker: execute, then task_done, then the null `executing`)."""

    def __init__(self):
        self.history: dict = {}
        self.events = [
            {"type": "executing", "data": {"node": "9", "prompt_id": "p1"}},
            {"type": "execution_success", "data": {"prompt_id": "p1"}},
            {"type": "executing", "data": {"node": None, "prompt_id": "p1"}},
        ]

    def recv(self) -> str:
        event = self.events.pop(0)
        if event["type"] == "executing" and event["data"]["node"] is None:
            self.history["p1"] = {"outputs": {"12": {"images": [{"filename": "demo_00001_.mp4", "subfolder": "GatedPortrait"}]}}}
        return json.dumps(event)


def test_a_job_ends_at_the_null_executing_event_and_reads_its_outputs_from_history():
    api_batch = _api_batch()
    server = _ScriptedServer()
    client = object.__new__(api_batch.ComfyClient)
    client.timeout, client.ws, client.client_id = 10.0, server, "c1"
    client.post_json = lambda path, body: {"prompt_id": "p1"}
    client.get_json = lambda path: {key: value for key, value in server.history.items() if path == f"/history/{key}"}
    files = client.run({"9": {"class_type": "GatedUNetSample"}}, "job")
    assert files == [str(Path("GatedPortrait") / "demo_00001_.mp4")]
    assert server.events == []
