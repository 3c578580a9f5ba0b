#!/usr/bin/env bash
# The device check as ONE command (sized for about 9 minutes on one H100/H200, not yet timed): full-size
# random-weight models at 512x512 (64x64 latents), 50 frames, fp16 weights.
#   1. Hallo's architecture (pipelines/configs/hallo.json: three audio branches, FaceLocator, 46080 -> 32x768
#      audio projection): reference vs fast at 3 DDIM steps, extrapolated to 40 (`ratio_at_40_steps`, two-branch
#      CFG 3.5 / 3.5); sampling and decode peaks apart; the `fast` preset at 25 real steps (three-branch CFG 2.0 /
#      7.5: `preset.s_per_video_second_at_25_steps`, `preset.drift_psnr`); the ablation, low-VRAM row first
#      (`low_vram_peak_gb`), then the lossless switches and the lossy options at 25 steps until --budget-s (200 s:
#      most lossy rows are skipped to leave the compile its time); torch.compile last
#      (`compiled_ratio_at_40_steps`; the inductor cache below is reused by a rerun: its compile_s is the warm one).
#      -> bench/results/step_time_gpu_hallo.json (everything before the compile row is on disk before compiling)
#   2. The sd15 config beside it: reference vs fast only. -> bench/results/step_time_gpu_sd15.json
# Both files are copied to $OUT when set. Extra arguments go to the hallo run.
#
# The device image has torch and einops but no diffusers: carry its wheel. Once, here, in the repo root:
#   echo /.whl/ >> .git/info/exclude
#   python -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform any -d .whl diffusers==0.42.1 importlib_metadata==10.2.0
# then the device call:  run(command="bash bench/gpu_full.sh", carry=[".whl"], timeout_s=560)
# Dry run of the same code path on the CPU at tiny scale (tiny_hallo / tiny configs, 8x8 latents):
#   OMP_NUM_THREADS=1 DRY=1 bash bench/gpu_full.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ -z "${PYTHON:-}" ] && [ -x .venv/bin/python ]; then PY=.venv/bin/python; fi
if ! "$PY" -c "import diffusers" 2>/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/gp_site .whl/*.whl
  export PYTHONPATH=/tmp/gp_site${PYTHONPATH:+:$PYTHONPATH}
fi
export TORCHINDUCTOR_CACHE_DIR=${TORCHINDUCTOR_CACHE_DIR:-/tmp/gatedportrait_inductor}  # a second run reuses the compile
export TORCHINDUCTOR_FX_GRAPH_CACHE=1 TORCHINDUCTOR_AUTOGRAD_CACHE=1
export PYTHONUNBUFFERED=1
"$PY" -c "import torch; print('device:', torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu', torch.__version__)" >&2
if [ -n "${DRY:-}" ]; then
  HALLO=(--device cpu --config tiny_hallo --latent 8 --frames 20 --steps 2 --preset-steps 3 --drift-steps 3)
  SD15=(--device cpu --config tiny --latent 8 --frames 20 --steps 2)
else
  HALLO=(--config hallo --latent 64 --frames 50 --steps 3 --preset-steps 25 --drift-steps 25)
  SD15=(--config sd15 --latent 64 --frames 50 --steps 3)
fi
status=0
timeout 430 "$PY" -m bench.step_time --gpu-full "${HALLO[@]}" --budget-s 200 --hard-limit-s 420 \
  --compile-reserve-s 170 "$@" || status=$?
timeout 100 "$PY" -m bench.step_time --gpu-full "${SD15[@]}" --only-compare || status=$?
if [ -n "${OUT:-}" ]; then cp bench/results/step_time_gpu_*.json "$OUT/" || true; fi
exit "$status"
