"""Tasks on top of a model: text-to-music, inpaint, continue, compose."""

from jen_core.audio import mix_stems
from jen_core.pipelines.loader import BUNDLED, bundled_path, load_pipeline, resolve_device
from jen_core.pipelines.pipeline import MIX, JenPipeline, SampleOptions
from jen_core.pipelines.tracks import Role, TrackLayout

__all__ = [
    "BUNDLED", "MIX", "JenPipeline", "Role", "SampleOptions", "TrackLayout", "bundled_path", "load_pipeline",
    "mix_stems", "resolve_device",
]
