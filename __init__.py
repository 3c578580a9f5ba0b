"""ComfyUI-GatedPortrait: audio-driven portrait animation nodes for ComfyUI.

The host imports this folder as a package and loads the nodes through `comfy_entrypoint` (ComfyUI's V3 API;
the host ignores it when NODE_CLASS_MAPPINGS exists, so there is none). The guard keeps pytest's collection of the
repository root (whose folder name may contain a hyphen) from failing on relative imports.
"""

WEB_DIRECTORY = "./web"

if __package__:
    from .nodes import comfy_entrypoint

    __all__ = ["WEB_DIRECTORY", "comfy_entrypoint"]
