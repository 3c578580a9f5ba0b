"""ComfyUI node classes of the pack: thin adapters from host types to `pipelines/`."""

from importlib import import_module

from .host import register_model_folders, remove_crash_leftovers

register_model_folders()
remove_crash_leftovers()

_MODULES = ("model", "audio", "masks", "sampling", "video", "hallo")

NODE_CLASS_MAPPINGS = {}
NODE_DISPLAY_NAME_MAPPINGS = {}
for _name in _MODULES:
    _module = import_module(f".{_name}", __name__)
    NODE_CLASS_MAPPINGS.update(_module.NODE_CLASS_MAPPINGS)
    NODE_DISPLAY_NAME_MAPPINGS.update(_module.NODE_DISPLAY_NAME_MAPPINGS)
