"""Chunked video decode and background stabilisation (pipelines/video_decode.py)."""

import pytest
import torch
from diffusers import AutoencoderKL

from pipelines.conditions import HALLO_REGIONS, LINGUALINKER_REGIONS, RegionMasks
from pipelines.errors import PortraitInputError
from pipelines.video_decode import (
    BackgroundStabilizer,
    DECODE_BUDGET_BYTES,
    LOW_VRAM_DECODE_BUDGET_BYTES,
    MIN_TILE,
    DecodePlan,
    FrameCollector,
    autoencoder_frame_decoder,
    decode_ceiling,
    decode_video_chunks,
    estimate_decode_bytes,
    head_mask_of,
    plan_decode,
    video_frame_count,
)


def upsample_decoder(latents: torch.Tensor) -> torch.Tensor:
    """Fixed per-frame decoder: n c h w -> n 4h 4w 3 (first three channels, sigmoid, nearest x4)."""
    images = torch.sigmoid(latents[:, :3]).repeat_interleave(4, dim=2).repeat_interleave(4, dim=3)
    return images.movedim(1, -1)


def tiny_autoencoder() -> AutoencoderKL:
    torch.manual_seed(0)
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        block_out_channels=(8, 16),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=4,
    ).eval()


def test_chunks_cover_every_frame_when_count_is_not_a_multiple_of_the_chunk():
    latents = torch.randn(2, 4, 7, 3, 5)  # b c f h w
    seen = []
    chunks = list(decode_video_chunks(latents, upsample_decoder, 3, progress=lambda d, t: seen.append((d, t))))

    assert [len(c) for c in chunks] == [3, 3, 1, 3, 3, 1]  # a chunk never spans two videos
    assert seen == [(3, 14), (6, 14), (7, 14), (10, 14), (13, 14), (14, 14)]
    frames = torch.cat(chunks)
    assert frames.shape == (14, 12, 20, 3)
    expected = upsample_decoder(latents.permute(0, 2, 1, 3, 4).reshape(14, 4, 3, 5))  # (b f) order
    assert torch.equal(frames, expected)


def test_chunked_decode_equals_one_shot_decode_with_a_real_autoencoder():
    decode = autoencoder_frame_decoder(tiny_autoencoder())
    latents = torch.randn(1, 4, 5, 6, 6)
    chunked = torch.cat(list(decode_video_chunks(latents, decode, 2)))
    one_shot = decode(latents[0].movedim(1, 0))
    assert chunked.shape == (5, 12, 12, 3)
    assert chunked.min() >= 0 and chunked.max() <= 1
    torch.testing.assert_close(chunked, one_shot, atol=1e-5, rtol=0)


def test_single_frame_and_image_batch_latents_decode():
    one_frame = torch.randn(1, 4, 1, 2, 2)
    assert [c.shape for c in decode_video_chunks(one_frame, upsample_decoder, 8)] == [(1, 8, 8, 3)]
    image_batch = torch.randn(5, 4, 2, 2)  # f c h w: one video of 5 frames
    assert video_frame_count(image_batch) == 5
    frames = torch.cat(list(decode_video_chunks(image_batch, upsample_decoder, 2)))
    assert torch.equal(frames, upsample_decoder(image_batch))


def test_bad_latents_and_chunk_size_name_the_input():
    with pytest.raises(PortraitInputError, match="^latent"):
        next(decode_video_chunks(torch.randn(4, 2, 2), upsample_decoder, 2))
    with pytest.raises(PortraitInputError, match="^chunk_size"):
        next(decode_video_chunks(torch.randn(1, 4, 3, 2, 2), upsample_decoder, 0))


def test_progress_exception_cancels_after_the_current_chunk():
    calls = []

    def cancel_at_second_chunk(done, total):
        calls.append(done)
        if len(calls) == 2:
            raise InterruptedError("cancelled")

    chunks = decode_video_chunks(torch.randn(1, 4, 10, 2, 2), upsample_decoder, 3, progress=cancel_at_second_chunk)
    assert len(next(chunks)) == 3
    with pytest.raises(InterruptedError):
        next(chunks)
    assert calls == [3, 6]


def test_decode_chunks_follow_free_memory_within_bounds():
    frame = estimate_decode_bytes(64, 64)
    assert frame == 64 * 64 * 2048 * 4
    assert plan_decode(4 * frame, frame, (8, 8)) == DecodePlan(2)  # half of the free memory
    assert plan_decode(20 * frame, frame, (8, 8)) == DecodePlan(10)
    assert plan_decode(10**15, frame, (8, 8)) == DecodePlan(64)
    assert plan_decode(10**15, frame, (8, 8), max_chunk=8) == DecodePlan(8)


@pytest.mark.parametrize("budget_gb", [0.5, 1, 2, 3.5, 8])
def test_decode_chunk_obeys_the_memory_budget_it_is_given(budget_gb):
    """512 x 512 frames with ComfyUI's SD-VAE estimate in fp16 (about 1.1 GB each) on an 80 GB device: the chunk
    stays within the budget and uses it (one more frame would not fit); a budget under one frame decodes in tiles
    whose share of the frame fits it."""
    frame, budget, latent = 2178 * 64 * 64 * 64 * 2, int(budget_gb * 2**30), (64, 64)
    plan = plan_decode(80 * 2**30, frame, latent, max_bytes=budget)
    if budget >= frame:
        assert plan.tile is None
        assert plan.chunk_size * frame <= budget < (plan.chunk_size + 1) * frame
    else:
        assert plan.chunk_size == 1 and plan.tile % MIN_TILE == 0
        assert frame * plan.tile**2 / (64 * 64) <= budget < frame * (plan.tile + MIN_TILE) ** 2 / (64 * 64)
    assert plan_decode(2 * budget, frame, latent, max_bytes=10**15) == plan  # the same budget from free memory
    assert plan_decode(10**15, frame, latent).chunk_size * frame <= DECODE_BUDGET_BYTES  # the default ceiling


def test_the_ceiling_bounds_gpu_chunks_only():
    """On a GPU a chunk stays under 2 GB (1 GB in low-VRAM mode) whatever is free; on the CPU only half the free RAM
    bounds it: a 512 x 512 frame over the GPU ceiling is not tiled there."""
    assert decode_ceiling(torch.device("cuda", 0)) == DECODE_BUDGET_BYTES
    assert decode_ceiling(torch.device("cuda", 0), low_vram=True) == LOW_VRAM_DECODE_BUDGET_BYTES < DECODE_BUDGET_BYTES
    assert decode_ceiling(torch.device("cpu"), low_vram=True) is None
    frame = 2178 * 64 * 64 * 64 * 4  # ComfyUI's SD-VAE estimate in fp32: 2.3 GB
    assert plan_decode(64 * 2**30, frame, (64, 64), max_bytes=decode_ceiling(torch.device("cpu"))) == DecodePlan(15)
    assert plan_decode(64 * 2**30, frame, (64, 64), max_bytes=DECODE_BUDGET_BYTES).tile == 56


def test_a_frame_far_over_the_budget_decodes_in_the_smallest_tiles():
    assert plan_decode(0, 10**9, (64, 64)) == DecodePlan(1, MIN_TILE)


def test_tiled_decode_feeds_the_decoder_tiles_and_returns_whole_frames():
    vae = tiny_autoencoder()
    sides = []
    vae.decoder.register_forward_pre_hook(lambda module, args: sides.append(tuple(args[0].shape[-2:])))
    latents = torch.randn(2, 4, 20, 20)
    whole = autoencoder_frame_decoder(tiny_autoencoder())(latents)
    tiled = autoencoder_frame_decoder(vae, tile=8)(latents)
    assert tiled.shape == whole.shape == (2, 40, 40, 3)
    assert max(max(side) for side in sides) == 8 and len(sides) > 4
    first_tile = autoencoder_frame_decoder(tiny_autoencoder())(latents[..., :8, :8])  # 16 x 16 px
    torch.testing.assert_close(tiled[:, :12, :12], first_tile[:, :12, :12])  # the part no later tile blends into


def test_frame_collector_fills_one_tensor_and_passes_chunks_on():
    chunks = [torch.rand(3, 4, 4, 3), torch.rand(2, 4, 4, 3)]
    collector = FrameCollector(5)
    passed = list(collector.tee(chunks))
    assert all(a is b for a, b in zip(passed, chunks))
    assert torch.equal(collector.frames, torch.cat(chunks))
    assert collector.last is chunks[1]
    last_only = FrameCollector(5, keep_all=False)
    last_only.collect(chunks)
    assert last_only.frames is None and last_only.last is chunks[1]


def head_square(size=16) -> torch.Tensor:
    """1 h w hard mask with the head in rows/cols 4..11."""
    mask = torch.zeros(1, size, size)
    mask[:, 4:12, 4:12] = 1
    return mask


def test_background_blend_is_identity_at_strength_zero():
    frames = torch.rand(3, 16, 16, 3)
    stabilizer = BackgroundStabilizer(torch.rand(1, 16, 16, 3), head_square(), strength=0.0)
    assert torch.equal(stabilizer.apply(frames, torch.arange(3)), frames)


def test_hard_mask_at_full_strength_copies_the_reference_background_only():
    frames, reference = torch.rand(3, 16, 16, 3), torch.rand(1, 16, 16, 3)
    head = head_square()[0].bool()
    out = BackgroundStabilizer(reference, head_square(), strength=1.0, feather=0).apply(frames, torch.arange(3))
    assert torch.equal(out[:, ~head], reference.expand(3, -1, -1, -1)[:, ~head])
    assert torch.equal(out[:, head], frames[:, head])


def test_half_strength_moves_the_background_halfway():
    frames, reference = torch.zeros(1, 16, 16, 3), torch.ones(1, 16, 16, 3)
    out = BackgroundStabilizer(reference, head_square(), strength=0.5, feather=0).apply(frames, torch.arange(1))
    assert out[0, 0, 0].tolist() == [0.5, 0.5, 0.5]
    assert out[0, 8, 8].tolist() == [0.0, 0.0, 0.0]


def test_feathered_edge_lies_outside_the_head_and_is_monotone():
    frames, reference = torch.zeros(1, 64, 64, 3), torch.ones(1, 64, 64, 3)
    mask = torch.zeros(1, 64, 64)
    mask[:, 16:48, 16:48] = 1
    out = BackgroundStabilizer(reference, mask, strength=1.0, feather=0.1).apply(frames, torch.arange(1))[0, ..., 0]
    assert torch.all(out[16:48, 16:48] == 0)  # the head is untouched
    assert out[0, 0] == 1 and out[32, 0] == 1  # far background is the reference
    ramp = out[32, 8:17]  # from background toward the head edge
    assert torch.all(ramp[1:] <= ramp[:-1]) and 0 < ramp[4] < 1


def test_per_frame_masks_and_reference_resize():
    frames = torch.zeros(2, 8, 8, 3)
    masks = torch.zeros(4, 16, 16)  # one mask per video frame, at twice the frame size
    masks[3] = 1  # frame 3: all head
    reference = torch.full((1, 16, 16, 3), 0.25)
    out = BackgroundStabilizer(reference, masks, strength=1.0, feather=0).apply(frames, torch.tensor([2, 3]))
    assert out.shape == (2, 8, 8, 3)
    torch.testing.assert_close(out[0], torch.full((8, 8, 3), 0.25))
    assert torch.equal(out[1], frames[1])


def test_stabilizer_runs_inside_the_chunked_decode():
    latents = torch.randn(1, 4, 5, 4, 4)
    reference = torch.ones(1, 16, 16, 3)
    stabilizer = BackgroundStabilizer(reference, head_square(), strength=1.0, feather=0)
    frames = torch.cat(list(decode_video_chunks(latents, upsample_decoder, 2, stabilizer=stabilizer)))
    head = head_square()[0].bool()
    assert torch.all(frames[:, ~head] == 1)
    assert torch.equal(frames[:, head], upsample_decoder(latents[0].movedim(1, 0))[:, head])


def test_stabilizer_rows_must_match_the_frame_count():
    stabilizer = BackgroundStabilizer(torch.rand(2, 16, 16, 3), head_square(), strength=1.0)
    with pytest.raises(PortraitInputError, match="^reference: has 2 images for videos of 5 frames"):
        next(decode_video_chunks(torch.randn(1, 4, 5, 4, 4), upsample_decoder, 2, stabilizer=stabilizer))


def test_head_mask_from_lingualinker_and_hallo_regions():
    masks = torch.rand(1, 3, 8, 8)
    assert torch.equal(head_mask_of(RegionMasks(masks, LINGUALINKER_REGIONS)), masks[:, 0])
    assert torch.equal(head_mask_of(RegionMasks(masks, HALLO_REGIONS)), 1 - masks[:, 0])  # pose is the background
    with pytest.raises(PortraitInputError, match="^regions"):
        head_mask_of(RegionMasks(masks, ("a", "b", "c")))
