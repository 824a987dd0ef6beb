"""ConvAutoencoder: SoundStream/EnCodec-style conv codec with a continuous latent (JEN-1 IV-A).

No quantizer and no time-mixing normalisation. The decoder is either transposed convs up to the
waveform (``decoder="conv"``) or convs up to an STFT frame rate with an inverse-STFT head
(``decoder="istft"``, see ``istft.py``); the encoder is the same in both. In training, a share of latent frames
(``cfg.mask_ratio``, the paper's p = 5 %) is zeroed before the decoder (the noise-robust masked
autoencoder). Training losses (multi-resolution STFT, L1, discriminators) live in ``training``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from jen_core.autoencoder.chunked import iter_decode_chunks
from jen_core.autoencoder.istft import ISTFTHead
from jen_core.autoencoder.layers import (
    IO_KERNEL,
    LATENT_KERNEL,
    RES_KERNEL,
    DecoderBlock,
    EncoderBlock,
    ResidualUnit,
)
from jen_core.autoencoder.spectral import LogBandEncoder, log_band_split
from jen_core.errors import JenError
from jen_core.presets import DECODERS, ENCODERS, AutoencoderConfig


def _check_config(cfg: AutoencoderConfig) -> None:
    if cfg.channels < 1 or cfg.latent_dim < 1 or cfg.base_channels < 1 or cfg.max_channels < 1:
        raise JenError("autoencoder channels, latent_dim, base_channels and max_channels must all be >= 1")
    if not cfg.strides or any(s < 1 for s in cfg.strides):
        raise JenError(f"autoencoder strides must be a non-empty list of integers >= 1, got {list(cfg.strides)}")
    if any(d < 1 for d in cfg.res_dilations):
        raise JenError(f"autoencoder res_dilations must be >= 1, got {list(cfg.res_dilations)}")
    if not 0.0 <= cfg.mask_ratio < 1.0:
        raise JenError(f"autoencoder mask_ratio must be in [0, 1), got {cfg.mask_ratio}")
    if cfg.decoder not in DECODERS:
        raise JenError(f"autoencoder decoder must be one of {', '.join(DECODERS)}, got {cfg.decoder!r}")
    if cfg.encoder not in ENCODERS:
        raise JenError(f"autoencoder encoder must be one of {', '.join(ENCODERS)}, got {cfg.encoder!r}")
    if cfg.encoder == "logmel" and (cfg.channels != 2 or cfg.latent_dim < 2):
        raise JenError("the logmel encoder analyses mid and side: it needs channels = 2 and latent_dim >= 2")
    if cfg.decoder == "istft":
        u = cfg.istft_upsample
        if u < 1 or cfg.hop % u or (cfg.hop // u) % 2:
            raise JenError(
                f"autoencoder istft_upsample must divide the hop ({cfg.hop}) into an even STFT hop, got {u}"
            )


def _widths(cfg: AutoencoderConfig) -> list[int]:
    """Channel width at each resolution, waveform side first: base, 2 base, ... (capped)."""
    widths = [cfg.base_channels]
    for _ in cfg.strides:
        widths.append(min(2 * widths[-1], cfg.max_channels))
    return widths


class ConvAutoencoder(nn.Module):
    """Masked continuous conv autoencoder; implements ``AudioAutoencoder``.

    ``encode``: wav [B, channels, L] -> z [B, latent_dim, ceil(L / hop)];
    ``decode``: z [B, latent_dim, S] -> wav [B, channels, S * hop].
    """

    def __init__(self, cfg: AutoencoderConfig) -> None:
        super().__init__()
        _check_config(cfg)
        self.cfg = cfg
        widths = _widths(cfg)
        dil = tuple(cfg.res_dilations)
        if cfg.encoder == "logmel":
            mid, side = log_band_split(cfg.latent_dim)
            self.encoder: nn.Module = LogBandEncoder(sample_rate=cfg.sample_rate, hop=cfg.hop, mid_bands=mid, side_bands=side)
        else:
            self.encoder = nn.Sequential(
                nn.Conv1d(cfg.channels, widths[0], IO_KERNEL, padding=IO_KERNEL // 2),
                *(EncoderBlock(widths[i], widths[i + 1], stride=s, dilations=dil) for i, s in enumerate(cfg.strides)),
                nn.ELU(),
                nn.Conv1d(widths[-1], cfg.latent_dim, LATENT_KERNEL, padding=LATENT_KERNEL // 2),
            )
        self.decoder = self._istft_decoder(widths[-1]) if cfg.decoder == "istft" else self._conv_decoder(widths)

    def _conv_decoder(self, widths: list[int]) -> nn.Sequential:
        cfg, dil, n = self.cfg, tuple(self.cfg.res_dilations), len(self.cfg.strides)
        return nn.Sequential(
            nn.Conv1d(cfg.latent_dim, widths[-1], LATENT_KERNEL, padding=LATENT_KERNEL // 2),
            *(DecoderBlock(widths[i + 1], widths[i], stride=cfg.strides[i], dilations=dil) for i in reversed(range(n))),
            nn.ELU(),
            nn.Conv1d(widths[0], cfg.channels, IO_KERNEL, padding=IO_KERNEL // 2),
        )

    def _istft_decoder(self, width: int) -> nn.Sequential:
        """Latent rate -> ``istft_upsample`` STFT frames per latent frame, two residual stacks, iSTFT head."""
        cfg, dil, u = self.cfg, tuple(self.cfg.res_dilations), self.cfg.istft_upsample
        return nn.Sequential(
            nn.Conv1d(cfg.latent_dim, width, LATENT_KERNEL, padding=LATENT_KERNEL // 2),
            DecoderBlock(width, width, stride=u, dilations=dil),
            *(ResidualUnit(width, d) for d in dil),
            ISTFTHead(width, cfg.channels, cfg.hop // u),
        )

    # ------------------------------------------------------------------ protocol attributes
    @property
    def sample_rate(self) -> int:
        return self.cfg.sample_rate

    @property
    def channels(self) -> int:
        return self.cfg.channels

    @property
    def hop(self) -> int:
        return self.cfg.hop

    @property
    def latent_dim(self) -> int:
        return self.cfg.latent_dim

    @property
    def decoder_receptive_frames(self) -> int:
        """Latent frames of context needed on each side for exact chunked decoding.

        Walks the decoder from the waveform back to the latent: every conv adds its radius at
        its own rate; a transposed conv (kernel 2s, stride s) turns a radius of R samples into
        at most ceil(R / s) + 1 input frames. One extra frame covers the rounding of the
        frame a sample belongs to. A safe upper bound (a few frames for the presets).
        """
        res_radius = sum(d * (RES_KERNEL // 2) for d in self.cfg.res_dilations)
        if self.cfg.decoder == "istft":  # synthesis window, two residual stacks, one upsampling
            radius = self.decoder[-1].istft.radius_frames + 2 * res_radius
            return math.ceil(radius / self.cfg.istft_upsample) + 1 + LATENT_KERNEL // 2 + 1
        radius = IO_KERNEL // 2
        for stride in self.cfg.strides:  # decoder runs them reversed, so walking back is this order
            radius += res_radius
            radius = math.ceil(radius / stride) + 1
        return radius + LATENT_KERNEL // 2 + 1

    # ------------------------------------------------------------------ codec
    def encode(self, wav: Tensor) -> Tensor:
        """wav: [B, channels, L] -> z: [B, latent_dim, ceil(L / hop)] (right-padded with zeros)."""
        if wav.dim() != 3 or wav.shape[1] != self.channels:
            raise JenError(f"expected audio of shape [B, {self.channels}, L], got {tuple(wav.shape)}")
        length = wav.shape[-1]
        if length == 0:
            raise JenError("cannot encode empty audio (0 samples)")
        pad = -length % self.hop
        if pad:
            wav = F.pad(wav, (0, pad))
        return self.encoder(wav)

    def decode(self, z: Tensor) -> Tensor:
        """z: [B, latent_dim, S] -> wav: [B, channels, S * hop] (no output squashing)."""
        if z.dim() != 3 or z.shape[1] != self.latent_dim:
            raise JenError(f"expected latents of shape [B, {self.latent_dim}, S], got {tuple(z.shape)}")
        if z.shape[-1] == 0:
            raise JenError("cannot decode an empty latent sequence (0 frames)")
        return self.decoder(z)[..., : z.shape[-1] * self.hop]

    def forward(
        self, wav: Tensor, *, mask_ratio: float | None = None, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """Autoencode with latent masking; wav: [B, channels, L] -> (recon [B, channels, L_pad], z [B, C, S]).

        ``L_pad = S * hop``. ``mask_ratio`` defaults to ``cfg.mask_ratio`` in training mode and
        to 0 in eval mode. The returned ``z`` is the unmasked latent.
        """
        z = self.encode(wav)
        ratio = mask_ratio if mask_ratio is not None else (self.cfg.mask_ratio if self.training else 0.0)
        z_in = self.mask_latents(z, ratio, generator) if ratio > 0 else z
        return self.decode(z_in), z

    @staticmethod
    def mask_latents(z: Tensor, ratio: float, generator: torch.Generator | None = None) -> Tensor:
        """Zero ``round(ratio * S)`` random frames per example (at least one if ratio > 0).

        z: [B, C, S] -> [B, C, S]. Frames are chosen independently for each example.
        """
        if not 0.0 <= ratio <= 1.0:
            raise JenError(f"mask ratio must be in [0, 1], got {ratio}")
        batch, _, frames = z.shape
        count = min(frames, math.floor(ratio * frames + 0.5))
        if ratio > 0:
            count = max(1, count)
        if count == 0:
            return z
        device = generator.device if generator is not None else z.device
        scores = torch.rand(batch, frames, generator=generator, device=device).to(z.device)
        chosen = scores.argsort(dim=1)[:, :count]
        masked = torch.zeros(batch, frames, dtype=torch.bool, device=z.device).scatter_(1, chosen, True)
        return z.masked_fill(masked[:, None, :], 0.0)

    # ------------------------------------------------------------------ chunked decoding
    def iter_decode(self, z: Tensor, *, chunk_frames: int, overlap_frames: int | None = None) -> Iterator[Tensor]:
        """Yield waveform chunks [B, channels, chunk_frames * hop] (last may be shorter) of ``decode(z)``.

        z: [B, latent_dim, S]. ``overlap_frames`` defaults to ``decoder_receptive_frames``, which
        makes the concatenation equal to ``decode(z)``; memory is bounded by the chunk size.
        """
        overlap = self.decoder_receptive_frames if overlap_frames is None else overlap_frames
        yield from iter_decode_chunks(self.decode, z, hop=self.hop, chunk_frames=chunk_frames, overlap_frames=overlap)

    def decode_chunked(self, z: Tensor, *, chunk_frames: int, overlap_frames: int | None = None) -> Tensor:
        """z: [B, latent_dim, S] -> wav: [B, channels, S * hop], decoded ``chunk_frames`` at a time."""
        return torch.cat(list(self.iter_decode(z, chunk_frames=chunk_frames, overlap_frames=overlap_frames)), dim=-1)


def build_autoencoder(cfg: AutoencoderConfig) -> ConvAutoencoder:
    """The one builder from config to codec."""
    return ConvAutoencoder(cfg)
