"""OmniUNet1D and its blocks."""

from jen_core.unet.model import OmniUNet1D, UNetCond, split_tracks, stack_inputs

__all__ = ["OmniUNet1D", "UNetCond", "split_tracks", "stack_inputs"]
