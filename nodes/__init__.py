"""ComfyUI node classes of the pack (V3 schema): thin adapters from host types to `pipelines/`."""

from comfy_api.latest import ComfyExtension, io

from .audio import AudioEncode, PortraitAudioEncoderLoader
from .hallo import HalloConvertCheckpoint, HalloFaceConditions, HalloModelLoad
from .host import register_model_folders, remove_crash_leftovers
from .masks import RegionMaskFromLandmarks
from .model import PortraitModelFromBase, ReferenceNetLoad
from .sampling import GatedUNetSample, ShiftFusionLongVideo
from .speech import SaveSubtitles, TextToSpeech, VoiceProfileFromAudio
from .video import VAEDecodeVideo
from .voice_face import ImaginePortrait, VoiceAttributes

register_model_folders()  # before the host reads the schemas, whose file lists come from these folders
remove_crash_leftovers()

NODES = [
    ReferenceNetLoad, PortraitModelFromBase,
    PortraitAudioEncoderLoader, AudioEncode,
    RegionMaskFromLandmarks,
    GatedUNetSample, ShiftFusionLongVideo,
    VAEDecodeVideo,
    HalloModelLoad, HalloFaceConditions, HalloConvertCheckpoint,
    VoiceProfileFromAudio, TextToSpeech, SaveSubtitles,
    VoiceAttributes, ImaginePortrait,
]


class GatedPortraitExtension(ComfyExtension):
    """The pack's nodes, as the host asks for them when it loads custom nodes."""

    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return list(NODES)


async def comfy_entrypoint() -> GatedPortraitExtension:
    return GatedPortraitExtension()
