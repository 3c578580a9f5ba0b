"""Soak: many prompts and interrupted jobs through one host process do not make it grow."""

from __future__ import annotations

import pytest

from test_demo_workflow import _demo_prompt, _masks_prompt, _node_of, _silence_prompt, demo_host  # noqa: F401
from test_reliability_host import _assert_interrupted_cleanly

#: Allowed growth of the server's resident memory (allocator caches and Python's own arenas settle within this).
GROWTH_BOUND_MB = 200


def _masks_with_area(area: float) -> dict:
    prompt = _masks_prompt("portrait.png")
    prompt["2"]["inputs"]["head_area"] = area
    return prompt


@pytest.mark.soak
def test_twenty_prompts_and_five_interrupted_jobs_keep_the_host_memory_flat(demo_host):
    host = demo_host
    host.run_prompt(_silence_prompt(0.4))
    host.run_prompt(_masks_with_area(1.5))
    first = host.rss_mb()
    for i in range(20):  # inputs vary, so nothing is served from the host's cache
        prompt = _silence_prompt(0.5 + 0.1 * i) if i % 2 == 0 else _masks_with_area(1.6 + 0.05 * i)
        assert host.run_prompt(prompt)["status"]["status_str"] == "success"
    after_prompts = host.rss_mb()
    for seed in range(5):
        sampling = _demo_prompt(host)
        sampler = _node_of(sampling, "GatedUNetSample")
        sampler["inputs"].update(steps=200, seed=1000 + seed)
        sampler_id = next(i for i, n in sampling.items() if n is sampler)
        _assert_interrupted_cleanly(host, sampling, sampler_id)
    after_interrupts = host.rss_mb()
    print(f"server RSS MB: after warm-up {first:.0f}, after 20 prompts {after_prompts:.0f}, "
          f"after 5 interrupted jobs {after_interrupts:.0f}")
    assert after_prompts - first < GROWTH_BOUND_MB
    assert after_interrupts - after_prompts < GROWTH_BOUND_MB
