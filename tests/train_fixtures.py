"""Shared by the training tests: one torch thread per test module (the build machines' few cores are shared, and
oversubscribed threads slow every test)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
