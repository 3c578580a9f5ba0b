#!/usr/bin/env bash
# Issue 17's device check as ONE command (about 6-7 minutes on one H100, stopped at 500 s): full-size sd15 config
# with random weights at 512x512 (64x64 latents), 50 frames, 3 DDIM steps per mode, the ablation, the fast preset
# and torch.compile, extrapolated to 40 / 25 steps; first bench/cuda_checks.py (the shipped model on the GPU vs the
# CPU, about 30 s). Prints step_time's JSON (gpu_full + ablation), keeps it in
# bench/results/step_time_gpu.json (step_time_gpu_dryrun.json without CUDA; everything but the compile row is
# written there before compiling) and copies it to $OUT when set. Extra arguments go to bench.step_time.
#
# The device image has torch and einops but no diffusers: carry its wheel. Once, here, in the repo root:
#   echo /.whl/ >> .git/info/exclude
#   python -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform any -d .whl diffusers==0.42.1 importlib_metadata==10.2.0
# then the device call:  run(command="bash bench/gpu_full.sh", carry=[".whl"], timeout_s=560)
# Dry run of the same code path on the CPU at tiny scale:
#   OMP_NUM_THREADS=1 bash bench/gpu_full.sh --device cpu --config tiny --latent 8 --frames 20 --steps 2
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ -z "${PYTHON:-}" ] && [ -x .venv/bin/python ]; then PY=.venv/bin/python; fi
if ! "$PY" -c "import diffusers" 2>/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/gp_site .whl/*.whl
  export PYTHONPATH=/tmp/gp_site${PYTHONPATH:+:$PYTHONPATH}
fi
export TORCHINDUCTOR_CACHE_DIR=${TORCHINDUCTOR_CACHE_DIR:-/tmp/gatedportrait_inductor}  # a second run reuses the compile
export PYTHONUNBUFFERED=1
"$PY" -c "import torch; print('device:', torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu', torch.__version__)" >&2
status=0
if [ "$#" -eq 0 ]; then timeout 90 "$PY" -m bench.cuda_checks || status=$?; fi
timeout 500 "$PY" -m bench.step_time --gpu-full "$@" || status=$?
if [ -n "${OUT:-}" ]; then cp bench/results/step_time_gpu*.json bench/results/cuda_checks.json "$OUT/" || true; fi
exit "$status"
