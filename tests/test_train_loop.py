"""Training stages, loss, checkpoint resume and the command line, on the tiny config and random latent clips."""

from __future__ import annotations

import json

import pytest
import torch

from apps.train import main
from pipelines.config import PortraitModelConfig
from pipelines.model_files import load_portrait_model
from pipelines.noise_schedulers import make_scheduler
from pipelines.portrait_model import PortraitModel
from pipelines.train.clip_cache import LatentClips
from pipelines.train.objectives import diffusion_loss
from pipelines.train.stages import is_stage2_parameter, set_trainable, stage_batch
from pipelines.train.trainer import LoopSettings, TrainingRun, run_loop

TINY = PortraitModelConfig.named("tiny")
FRAMES = 4


def random_clips(count: int = 6, seed: int = 0) -> LatentClips:
    g = torch.Generator().manual_seed(seed)
    audio = TINY.audio
    masks = torch.zeros(count, 3, 8, 8)
    masks[:, 0, 1:7, 1:7], masks[:, 1, 5:7, 3:5], masks[:, 2, 2:4, 2:6] = 1, 1, 1
    return LatentClips(
        latents=torch.randn(count, 4, FRAMES, 8, 8, generator=g).half(),
        references=torch.randn(count, 4, 8, 8, generator=g).half(),
        audio=torch.randn(count, FRAMES, audio.context_frames, audio.feature_dim, generator=g).half(),
        masks=masks.half(),
        scales=torch.ones(count, 3),
        info={"encoder": audio.encoder, "audio_feature_shape": [audio.context_frames, audio.feature_dim],
              "latent_scale": 1.0, "clip_frames": FRAMES},
    )


def tiny_model(seed: int = 0) -> PortraitModel:
    torch.manual_seed(seed)
    return PortraitModel(TINY)


def test_stage_batches():
    clips = random_clips()
    g = torch.Generator().manual_seed(0)
    image = stage_batch(clips, torch.tensor([0, 1, 2]), 1, 2.0, g, uncond_prob=0.0)
    assert image.latents.shape == (3, 4, 1, 8, 8) and image.audio.shape == (3, 1, 5, 32)
    assert image.scales.abs().sum() == 0 and bool(image.with_reference.all())
    assert torch.allclose(image.reference, clips.references[:3].float() * 2.0)
    video = stage_batch(clips, torch.tensor([3, 4]), 2, 1.0, g, uncond_prob=0.0)
    assert video.latents.shape == (2, 4, FRAMES, 8, 8) and torch.equal(video.scales, torch.ones(2, 3))
    dropped = stage_batch(clips, torch.arange(6), 2, 1.0, g, uncond_prob=1.0)
    assert not bool(dropped.with_reference.any()) and dropped.scales.abs().sum() == 0


def test_stages_train_their_own_networks():
    model = tiny_model()
    stage1 = {n for n, p in model.named_parameters() if p in set(set_trainable(model, 1))}
    assert any(n.startswith("reference_net.") for n in stage1) and any(n.startswith("identity_proj.") for n in stage1)
    assert not any(is_stage2_parameter(n) for n in stage1)
    stage2 = {n for n, p in model.named_parameters() if p.requires_grad} if set_trainable(model, 2) else set()
    assert stage2 and all(is_stage2_parameter(n) for n in stage2)
    assert any(".motion_modules." in n for n in stage2) and any(n.endswith(".alpha") for n in stage2)
    assert any(n.startswith("audio_proj.") for n in stage2)
    assert len(set_trainable(model, 2, train_2d=True)) == len(list(model.parameters()))


def test_stage2_gradients_reach_gates_audio_projection_and_temporal_modules():
    model = tiny_model()
    set_trainable(model, 2)
    batch = stage_batch(random_clips(), torch.tensor([0, 1]), 2, 1.0, torch.Generator().manual_seed(0), 0.0)
    parts = diffusion_loss(model, batch, make_scheduler("ddim", TINY), torch.Generator().manual_seed(1), {"mouth": 1.0, "eyes": 1.0})
    parts["loss"].backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert all(grads[n].abs().sum() > 0 for n in grads if n.endswith(".alpha"))  # silu'(0) = 0.5: alpha learns first
    assert all(grads[n].abs().sum() > 0 for n in grads if ".motion_modules." in n and "proj_out" in n)
    assert grads["audio_proj.proj1.weight"].abs().sum() > 0
    assert all(grads[n] is None for n in grads if n.startswith("reference_net."))
    assert set(parts) == {"loss", "base", "mouth", "eyes"}
    assert torch.isclose(parts["loss"], parts["base"] + parts["mouth"] + parts["eyes"])


@pytest.mark.parametrize("stage", [1, 2])
def test_a_few_steps_lower_the_loss_on_a_fixed_batch(stage):
    model = tiny_model()
    parameters = set_trainable(model, stage)
    batch = stage_batch(random_clips(), torch.tensor([0, 1]), stage, 1.0, torch.Generator().manual_seed(0), 0.0)
    scheduler = make_scheduler("ddim", TINY)
    optimizer = torch.optim.AdamW(parameters, lr=1e-3)

    def loss() -> torch.Tensor:
        return diffusion_loss(model, batch, scheduler, torch.Generator().manual_seed(5), {"mouth": 1.0})["loss"]

    first = float(loss().detach())
    for _ in range(12):
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()
    assert float(loss().detach()) < 0.8 * first


def run_steps(folder, steps: int, clips: LatentClips) -> TrainingRun:
    model = tiny_model()
    run = TrainingRun(model, set_trainable(model, 2), LoopSettings(steps=steps, lr=1e-3, ema_decay=0.9, log_every=1, save_every=2), folder)
    run.resume()
    scheduler = make_scheduler("ddim", TINY)

    def loss_step(generator):
        indices = torch.randint(0, len(clips), (2,), generator=generator)
        return diffusion_loss(model, stage_batch(clips, indices, 2, 1.0, generator), scheduler, generator, {"mouth": 1.0})

    run_loop(run, loss_step, torch.device("cpu"), "test")
    return run


def test_resume_continues_exactly(tmp_path):
    clips = random_clips()
    straight = run_steps(tmp_path / "straight", 4, clips)
    run_steps(tmp_path / "split", 2, clips)
    resumed = run_steps(tmp_path / "split", 4, clips)
    assert resumed.step == 4
    for (name, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), name
    for a, b in zip(straight.ema.module.parameters(), resumed.ema.module.parameters()):
        assert torch.equal(a, b)
    records = [json.loads(line) for line in (tmp_path / "split" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4]


def test_command_line_fit_two_steps(tmp_path, capsys):
    data = tmp_path / "clips.safetensors"
    random_clips().save(data)
    out = tmp_path / "stage1"
    main(["--threads", "1", "fit", "--data", str(data), "--stage", "1", "--steps", "2", "--batch", "2", "--log-every", "1", "--out", str(out)])
    model = load_portrait_model(out / "model.safetensors")
    assert model.config.audio.feature_dim == 32 and model.config.clip_length == FRAMES
    main(["fit", "--data", str(data), "--stage", "2", "--steps", "2", "--batch", "2", "--out", str(tmp_path / "stage2"),
          "--init", str(out / "model.safetensors"), "--region-weight", "mouth=2", "eyes=0.5", "--exclusive-masks"])
    log = [json.loads(line) for line in (tmp_path / "stage2" / "log.jsonl").read_text().splitlines()]
    assert log[-1]["step"] == 2 and {"mouth", "eyes", "base"} <= set(log[-1])
    assert not model.config.audio.exclusive_masks
    assert load_portrait_model(tmp_path / "stage2" / "model.safetensors").config.audio.exclusive_masks  # switched on
    stage2 = load_portrait_model(tmp_path / "stage2" / "model.safetensors").state_dict()
    stage1 = model.state_dict()
    assert all(torch.equal(stage1[k], v) for k, v in stage2.items() if k.startswith("reference_net."))
    assert not all(torch.equal(stage1[k], v) for k, v in stage2.items() if ".motion_modules." in k)
    assert "[stage2] step 2/2" in capsys.readouterr().err


@pytest.mark.parametrize("content, reason", [(None, "no such clip file"), (b"not a header", "not a readable safetensors"), ("vae", "not a training clip file")])
def test_fit_with_a_missing_or_foreign_data_file_exits_naming_it_and_the_fix(tmp_path, content, reason):
    data = tmp_path / "clips.safetensors"
    if content == "vae":
        from safetensors.torch import save_file

        save_file({"weight": torch.zeros(2)}, str(data))
    elif content is not None:
        data.write_bytes(content)
    with pytest.raises(SystemExit, match=rf"clips.safetensors: .*{reason}.*Fix: make it with `python -m apps.train data"):
        main(["fit", "--data", str(data), "--stage", "1", "--steps", "1", "--out", str(tmp_path / "run")])
    assert not (tmp_path / "run").exists()
