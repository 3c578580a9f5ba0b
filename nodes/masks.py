"""Region-mask node: the portrait's head / mouth / eyes (or Hallo's pose / expression / lip) masks from landmarks."""

import os

import folder_paths
import nodes as comfy_nodes
from comfy_api.latest import io

from ..pipelines.conditions import HALLO_REGIONS, LINGUALINKER_REGIONS
from ..pipelines.face_landmarks import find_face_landmarks
from ..pipelines.mask_preview import draw_region_preview
from ..pipelines.region_masks import HALLO_FACE_EXPAND, LAYOUTS, RegionAreas, portrait_region_masks
from .host import PACK_MODELS_DIR, resolve_model_file
from .schema import Choice, PortraitLandmarks, PortraitRegions, output

#: The pack's default face models, put there by `scripts/fetch_face_models.py` (make install).
DEFAULT_FACE_MODELS = os.path.join(PACK_MODELS_DIR, "face")
NO_TASK_FILE = "none"


def _area_slider(name: str, default: float, region: str, note: str = "") -> io.Float.Input:
    return io.Float.Input(name, default=default, min=0.1, max=8.0, step=0.05, tooltip=(
        f"LinguaLinker layout: multiplies the AREA of the {region} box about its centre (mask area = motion "
        f"range; 1.0 = the landmark box itself).{note} Ignored by the hallo layout."))


def _override(name: str, region: str, hallo_region: str) -> io.Mask.Input:
    return io.Mask.Input(name, optional=True, tooltip=f"Optional painted mask that replaces the {region} region "
                                                      f"({hallo_region} in the hallo layout); resized to the image.")


class RegionMaskFromLandmarks(io.ComfyNode):
    """Finds the largest face, builds the region masks, previews them over the portrait."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        task_files = [f for f in folder_paths.get_filename_list("face_landmarkers") if f.endswith(".task")]
        return io.Schema(
            node_id="RegionMaskFromLandmarks",
            display_name="Region Masks From Landmarks (Gated Portrait)",
            category="GatedPortrait/masks",
            description=(
                "Region masks of the portrait from MediaPipe face landmarks, offline. lingualinker layout: head, mouth "
                f"and eyes boxes {LINGUALINKER_REGIONS} whose area sliders set each region's motion range "
                f"(LinguaLinker). hallo layout: Hallo's soft {HALLO_REGIONS} masks. Painted masks override any region; "
                "face_box replaces detection."
            ),
            inputs=[
                io.Image.Input("image", tooltip="The portrait (RGB or RGBA, any aspect). The largest face is used."),
                Choice("layout", options=list(LAYOUTS), default="lingualinker", tooltip=(
                    "lingualinker: head, mouth, eyes boxes for the pack's region gates. hallo: Hallo's soft pose, "
                    "expression, lip masks (what Hallo checkpoints were trained with), in the same three outputs.")),
                _area_slider("head_area", RegionAreas.head, "face-oval",
                             " Above 1 the head grows into the background: more head motion."),
                _area_slider("mouth_area", RegionAreas.mouth, "outer-lip"),
                _area_slider("eyes_area", RegionAreas.eyes, "eyes-and-eyebrows"),
                io.Float.Input("feather", default=0.0, min=0.0, max=256.0, step=0.5, tooltip=(
                    "LinguaLinker layout: Gaussian edge softening of the boxes, sigma in pixels; 0 = hard boxes.")),
                io.Float.Input("face_expand_ratio", default=HALLO_FACE_EXPAND, min=0.5, max=4.0, step=0.05, tooltip=(
                    "Hallo layout: side ratio of the face box (Hallo's face_expand_ratio, 1.2). The lip box is always "
                    "x2.0.")),
                Choice("face_landmarker", options=[NO_TASK_FILE] + task_files, default=NO_TASK_FILE,
                       optional=True, tooltip=(
                    "none: the pack's own MediaPipe face models (468 points). Or a FaceLandmarker .task file from "
                    "models/face_landmarkers, e.g. Hallo's face_landmarker_v2_with_blendshapes.task (478 points).")),
                io.String.Input("face_box", default="", optional=True, tooltip=(
                    "Optional 'x,y,w,h' face box in image pixels. When set, no face detection runs: the regions "
                    "follow the box's proportions (for faces the detector misses, e.g. stylised ones).")),
                _override("head_mask", "head", "pose"),
                _override("mouth_mask", "mouth", "expression"),
                _override("eyes_mask", "eyes", "lip"),
            ],
            outputs=[
                output(PortraitRegions, "regions", "All region masks (b r h w at image resolution) for GatedUNetSample."),
                output(io.Mask, "head", "Head mask (hallo layout: pose)."),
                output(io.Mask, "mouth", "Mouth mask (hallo layout: expression)."),
                output(io.Mask, "eyes", "Eyes mask (hallo layout: lip)."),
                output(PortraitLandmarks, "landmarks", (
                    "A list with one FaceLandmarks per image: points (n 2, pixels), face box, image size, other faces "
                    "found.")),
                output(io.Image, "preview",
                       "The regions tinted over the portrait; the face used framed in yellow, other faces in grey."),
            ],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, image, layout, head_area, mouth_area, eyes_area, feather, face_expand_ratio,
                face_landmarker=NO_TASK_FILE, face_box="", head_mask=None, mouth_mask=None, eyes_mask=None
                ) -> io.NodeOutput:
        task_file = None
        if face_landmarker != NO_TASK_FILE:
            task_file = resolve_model_file("face_landmarkers", face_landmarker)
        landmarks = find_face_landmarks(image.cpu().numpy(), DEFAULT_FACE_MODELS, task_file, face_box)
        regions = portrait_region_masks(landmarks, layout, RegionAreas(head_area, mouth_area, eyes_area), feather,
                                        face_expand_ratio, (head_mask, mouth_mask, eyes_mask))
        preview = draw_region_preview(image, regions, landmarks)
        shown = comfy_nodes.PreviewImage().save_images(preview, filename_prefix="GatedPortraitRegions")["ui"]["images"]
        # the untinted portrait, for the front end's live region overlay (web/region_overlay.js)
        source = comfy_nodes.PreviewImage().save_images(image[..., :3], filename_prefix="GatedPortraitSource")["ui"]
        channels = regions.masks.unbind(1)
        return io.NodeOutput(regions, *channels, landmarks, preview, ui={
            "images": shown, "gated_portrait_source": source["images"],
            "gated_portrait_landmarks": [face.to_json() for face in landmarks],
        })

