"""Chunked decoding with overlap: bounded memory, same samples as one full decode.

Works for any decoder whose output for latent frame ``i`` depends only on frames within
``overlap`` of ``i`` (its receptive field) and which is shift-equivariant by one hop per frame.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from torch import Tensor

from jen_core.errors import JenError


def iter_decode_chunks(
    decode: Callable[[Tensor], Tensor], z: Tensor, *, hop: int, chunk_frames: int, overlap_frames: int
) -> Iterator[Tensor]:
    """Yield consecutive waveform chunks of ``decode(z)``.

    z: [B, C, S]. Each step decodes frames ``[c0 - overlap, c1 + overlap)`` (clamped to the
    sequence) and yields only the samples of frames ``[c0, c1)``: [B, channels, (c1 - c0) * hop].
    Chunks have ``chunk_frames * hop`` samples except possibly the last.
    """
    if chunk_frames < 1:
        raise JenError(f"chunk_frames must be >= 1, got {chunk_frames}")
    if overlap_frames < 0:
        raise JenError(f"overlap_frames must be >= 0, got {overlap_frames}")
    if z.dim() != 3:
        raise JenError(f"expected latents of shape [B, C, S], got {tuple(z.shape)}")
    frames = z.shape[-1]
    for start in range(0, frames, chunk_frames):
        stop = min(start + chunk_frames, frames)
        lo = max(0, start - overlap_frames)
        hi = min(frames, stop + overlap_frames)
        wav = decode(z[..., lo:hi])
        yield wav[..., (start - lo) * hop : (stop - lo) * hop]
