"""ComfyUI-GatedPortrait: audio-driven portrait animation nodes for ComfyUI.

The host imports this folder as a package; the guard keeps pytest's collection of the
repository root (whose folder name may contain a hyphen) from failing on relative imports.
"""

WEB_DIRECTORY = "./web"

if __package__:
    from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

    __all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
