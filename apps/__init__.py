"""Front doors that run the pipelines without ComfyUI, from the pack root: `python -m apps.render` (one device or
torchrun ranks), `python -m apps.farm` (a Ray cluster) and `python -m apps.train` (the training stages)."""
