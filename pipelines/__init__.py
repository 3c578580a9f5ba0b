"""Model, audio, mask, sampling and video code of GatedPortrait.

Nothing in this package imports ComfyUI: every module runs and is tested without the host.
"""
