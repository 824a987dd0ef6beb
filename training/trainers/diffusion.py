"""What the JEN-1 and Composer trainers share: data (audio encoded on the fly, or pre-encoded
latents), whitening, text and meta conditioning, and the epsilon-prediction objective.

UNet inputs are always built with :class:`jen_core.pipelines.tracks.TrackLayout`, the same
code inference uses, so training and sampling can never disagree on the channel layout,
the mask convention or the timestep vector.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from jen_core.conditioning import bars_for, parse_key
from jen_core.errors import JenError
from jen_core.model import JenModel
from jen_core.text import TextTokens
from jen_core.unet import OmniUNet1D, UNetCond, split_tracks
from training.batches import ShardedBatches
from training.data.stems import StemDataset, collate_stems
from training.distributed import DistEnv
from training.encode import autoencoder_fingerprint
from training.latent_data import LatentDataset, collate_latents, read_index
from training.trainers.base import BaseTrainer, StepOutput

MIX_INDEX = 4  # tracks are bass, drums, instrument, melody, mix


class DenoiseObjective(nn.Module):
    """The trained part of a diffusion stage: the UNet, plus the text encoder when it is trained.

    forward returns the per-example epsilon MSE [B], averaged over the tracks with weight 1
    (the targets) and over their channels and frames.
    """

    def __init__(self, unet: OmniUNet1D, text_encoder: nn.Module | None = None) -> None:
        super().__init__()
        self.unet = unet
        self.text_encoder = text_encoder

    def forward(
        self,
        x: Tensor,
        t: Tensor,
        eps: Tensor,
        weight: Tensor,
        *,
        causal: Tensor,
        text: TextTokens | None,
        prompts: list[str],
        meta: Tensor,
        uncond: Tensor,
    ) -> Tensor:
        """x: [B, K*(2k+1), S]; t: [B, K]; eps: [B, K, k, S] noise to predict; weight: [B, K] (1 = target);
        causal: [B] bool (unidirectional mode per example); uncond: [B] bool (text dropped)."""
        if text is None:
            assert self.text_encoder is not None
            text = self.text_encoder(prompts)
        states = text.states.to(x.dtype) if x.dtype != torch.float32 else text.states
        pred = torch.empty_like(eps)
        k_tracks = self.unet.cfg.tracks
        for mode in (False, True):
            idx = (causal == mode).nonzero().flatten()
            if idx.numel() == 0:
                continue
            cond = UNetCond(text=states[idx], text_mask=text.mask[idx], meta=meta[idx], uncond=uncond[idx])
            out = self.unet(x[idx], t[idx], cond, causal=mode)
            pred[idx] = split_tracks(out, k_tracks).to(pred.dtype)
        err = (pred.float() - eps.float()).pow(2).mean(dim=(2, 3))  # [B, K]
        return (err * weight).sum(dim=1) / weight.sum(dim=1).clamp_min(1.0)


def meta_row(meta: dict[str, Any], seconds: float) -> list[float]:
    """(bpm, key index, bars) of a song's meta for a clip of ``seconds``; 0 where unknown or invalid."""
    bpm = meta.get("bpm")
    bpm = float(bpm) if isinstance(bpm, (int, float)) and not isinstance(bpm, bool) and 20 <= bpm <= 400 else 0.0
    key = 0
    if isinstance(meta.get("key"), str):
        try:
            key = parse_key(meta["key"])
        except JenError:
            key = 0
    bars = 0
    if bpm:
        beats = 4.0
        ts = meta.get("time_signature")
        if isinstance(ts, str) and ts.count("/") == 1:
            num, den = ts.split("/")
            if num.strip().isdigit() and den.strip().isdigit() and int(den) > 0:
                beats = int(num) * 4.0 / int(den)
        bars = bars_for(seconds, bpm, beats)
    return [bpm, float(key), float(bars)]


class DiffusionTrainer(BaseTrainer):
    """Base of the JEN-1 and Composer trainers. ``unet_name`` is 'jen1' or 'composer'."""

    unet_name = "jen1"

    def losses(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, float]]:  # pragma: no cover - abstract
        """(mean loss over the batch, metrics); each subclass builds its own tasks."""
        raise NotImplementedError

    def train_step(self, batch: dict[str, Any]) -> StepOutput:
        out = StepOutput()
        loss, metrics = self.losses(batch)
        out.metrics.update(metrics)
        self.apply_update("denoiser", loss, out)
        out.metrics["loss"] = out.metrics["loss_mean/denoiser"]
        return out

    def __init__(
        self,
        cfg: Any,
        *,
        model: JenModel,
        run_dir: str | Path,
        env: DistEnv,
        stages: list[str],
        data_dir: str | Path | None = None,
        latents_dir: str | Path | None = None,
    ) -> None:
        super().__init__(cfg, model=model, run_dir=run_dir, env=env, stages=stages)
        unet = getattr(model, self.unet_name)
        if unet is None:
            raise JenError(f"this model has no {self.unet_name} UNet (its config sets {self.unet_name}: null)")
        if (data_dir is None) == (latents_dir is None):
            raise JenError("give exactly one of --data DIR (stem folders) or --latents DIR (jen data encode output)")
        self.unet: OmniUNet1D = unet
        self.data_dir, self.latents_dir = data_dir, latents_dir
        model.autoencoder.eval().requires_grad_(False)
        model.whitener.eval()
        text_params = list(model.text_encoder.parameters()) if isinstance(model.text_encoder, nn.Module) else []
        self.train_text = bool(cfg.train_text_encoder and text_params)
        if cfg.train_text_encoder and not text_params:
            self.logger.message("note: the text encoder has no trainable weights (MiniLM/T5 stay frozen)")
        if isinstance(model.text_encoder, nn.Module) and not self.train_text:
            model.text_encoder.eval().requires_grad_(False)
        self.objective = DenoiseObjective(unet, model.text_encoder if self.train_text else None)  # type: ignore[arg-type]
        self.add_trained("denoiser", self.objective, cfg.optim, ema=True)
        ae = model.cfg.autoencoder
        mult = unet.cfg.length_multiple
        frames = int(cfg.data.segment_seconds * ae.sample_rate / ae.hop) // mult * mult
        if frames < mult:
            raise JenError(f"data.segment_seconds {cfg.data.segment_seconds} is shorter than {mult} latent frames")
        self.frames = frames
        self.seconds = frames * ae.hop / ae.sample_rate
        self.schedule = model.schedule
        self.prediction = model.cfg.diffusion.prediction
        if "latent-stats" not in stages and bool(torch.equal(model.whitener.mean, torch.zeros_like(model.whitener.mean))):
            warnings.warn("the model's latent whitening looks untouched (run `jen train latent-stats` first); "
                          "training on unwhitened latents", stacklevel=2)

    # ------------------------------------------------------------------ data
    def make_batches(self) -> ShardedBatches:
        cfg, env = self.cfg, self.env
        if self.latents_dir is not None:
            index = read_index(self.latents_dir)
            mine = autoencoder_fingerprint(self.model.autoencoder)
            if index["autoencoder"] != mine:
                raise JenError(
                    f"the latents in {self.latents_dir} were encoded by another autoencoder than this model's; "
                    "re-run `jen data encode --model <this checkpoint>` or train from --data"
                )
            dataset: Any = LatentDataset(self.latents_dir, frames=self.frames, seed=cfg.run.seed)
            collate = collate_latents
        else:
            d = cfg.data
            dataset = StemDataset(
                self.data_dir, segment_seconds=self.seconds, sample_rate=self.model.cfg.autoencoder.sample_rate,
                seed=cfg.run.seed, snap_to_downbeat=d.snap_to_downbeat, loudness=d.loudness,
                target_db=d.target_db, strict=d.strict,
            )
            collate = collate_stems
        return ShardedBatches(
            dataset, batch_size=cfg.data.batch_size, rank=env.rank, world_size=env.world_size, seed=cfg.run.seed,
            num_workers=cfg.data.num_workers, collate=collate, pin_memory=env.device.type == "cuda",
        )

    @torch.no_grad()
    def clean_latents(self, batch: dict[str, Any]) -> Tensor:
        """Whitened latents [B, 5, k, S] of every track of the batch."""
        dev = self.env.device
        if "latents" in batch:
            z = batch["latents"].to(dev, non_blocking=True)
        else:
            audio = batch["audio"].to(dev, non_blocking=True)  # [B, 5, 2, L]
            b, n = audio.shape[:2]
            with self.autocast():
                z = self.model.autoencoder.encode(audio.reshape(b * n, *audio.shape[2:]))
            z = z.float().reshape(b, n, z.shape[1], z.shape[2])
        z = z[..., : self.frames]
        return self.model.whitener.whiten(z.float())

    # ------------------------------------------------------------------ conditioning
    def text_tokens(self, prompts: list[str]) -> TextTokens | None:
        """Frozen encoders: token states now (no grad). A trained encoder runs inside the objective."""
        if self.train_text:
            return None
        return self.model.text_encoder.encode(prompts).to(self.env.device)

    def meta(self, metas: list[dict[str, Any]]) -> Tensor:
        return torch.tensor([meta_row(m, self.seconds) for m in metas], dtype=torch.float32, device=self.env.device)

    def uncond(self, n: int) -> Tensor:
        """[n] bool: examples whose text (and meta) is dropped for classifier-free guidance."""
        return torch.rand(n) < self.cfg.cond_drop_prob

    def sample_t(self, n: int) -> Tensor:
        """[n] integer diffusion timesteps, uniform over 0..T-1."""
        return torch.randint(0, self.schedule.T, (n,))

    def random_span(self, frames: int, *, lo: float, hi: float) -> tuple[int, int]:
        """A span covering a uniform 'lo'-'hi' share of ``frames`` at a uniform position."""
        ratio = lo + (hi - lo) * float(torch.rand(()))
        n = min(frames - 1, max(1, round(ratio * frames)))
        start = int(torch.randint(0, frames - n + 1, ()))
        return start, start + n

    def target(self, clean: Tensor, eps: Tensor, t: Tensor) -> Tensor:
        """What the UNet regresses: the noise (epsilon prediction) or v; clean, eps [B, K, k, S], t [B]."""
        return eps if self.prediction == "epsilon" else self.schedule.v_target(clean, eps, t)

    def run_objective(
        self, x: Tensor, t: Tensor, eps: Tensor, weight: Tensor, *, causal: Tensor, prompts: list[str],
        metas: list[dict[str, Any]], uncond: Tensor,
    ) -> Tensor:
        """Per-example loss [B] through the (DDP-wrapped) objective."""
        dev = self.env.device
        text = self.text_tokens(prompts)
        meta = self.meta(metas)
        meta = torch.where(uncond.to(dev)[:, None], torch.zeros_like(meta), meta)
        with self.autocast():
            return self.ddp("denoiser")(
                x, t.to(dev), eps, weight.to(dev), causal=causal.to(dev), text=text, prompts=prompts, meta=meta,
                uncond=uncond.to(dev),
            )

    def export_model(self) -> JenModel:
        """The model with the EMA weights of the trained UNet (and text encoder, when trained)."""
        ema: DenoiseObjective = self.emas["denoiser"].module  # type: ignore[assignment]
        m = self.model
        parts = {"jen1": m.jen1, "composer": m.composer, self.unet_name: ema.unet}
        text = ema.text_encoder if self.train_text else m.text_encoder
        return JenModel(m.cfg, autoencoder=m.autoencoder, whitener=m.whitener, text_encoder=text, **parts)

