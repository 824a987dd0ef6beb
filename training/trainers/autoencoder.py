"""Masked autoencoder training (JEN-1 IV-A): multi-resolution STFT + waveform L1 reconstruction,
a multi-scale STFT discriminator with feature matching, 5 % of the latent frames masked before
the decoder (``ConvAutoencoder.forward`` in train mode), EMA weights exported.

Each step: the generator (autoencoder) update, then (from ``loss.disc_start``) the
discriminator update on the same batch. A non-finite generator loss skips both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from jen_core.model import JenModel
from training.batches import ShardedBatches
from training.config import AutoencoderTrainConfig
from training.data.stems import StemDataset, collate_stems
from training.distributed import DistEnv
from training.losses import (
    MultiResolutionSTFTLoss,
    MultiScaleMelLoss,
    MultiScaleSTFTDiscriminator,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
    waveform_l1,
)
from training.metrics import mrstft_distance, si_sdr
from training.trainers.base import BaseTrainer, StepOutput

SILENCE_RMS = 10 ** (-60 / 20)


class AutoencoderTrainer(BaseTrainer):
    kind = "autoencoder"

    def __init__(
        self,
        cfg: AutoencoderTrainConfig,
        *,
        model: JenModel,
        run_dir: str | Path,
        env: DistEnv,
        stages: list[str],
        data_dir: str | Path,
    ) -> None:
        super().__init__(cfg, model=model, run_dir=run_dir, env=env, stages=stages)
        self.data_dir = data_dir
        ae_cfg = model.cfg.autoencoder
        self.add_trained("autoencoder", model.autoencoder, cfg.optim, ema=True)
        with torch.random.fork_rng(devices=[]):  # seeded init, independent of what ran before
            torch.manual_seed(cfg.run.seed)
            disc = MultiScaleSTFTDiscriminator(
                channels=ae_cfg.channels, filters=cfg.loss.disc_filters, ffts=cfg.loss.disc_ffts
            ).to(env.device)
        self.disc = disc
        self.add_trained("disc", disc, cfg.disc_optim)
        self.stft_loss = MultiResolutionSTFTLoss(cfg.loss.stft_ffts).to(env.device)
        sr = self.model.cfg.autoencoder.sample_rate
        self.mel_loss = MultiScaleMelLoss(sr).to(env.device) if cfg.loss.w_mel > 0 else None
        hop = ae_cfg.hop
        self.samples = max(1, round(cfg.data.segment_seconds * ae_cfg.sample_rate / hop)) * hop

    def make_batches(self) -> ShardedBatches:
        cfg, env = self.cfg, self.env
        d = cfg.data
        dataset = StemDataset(
            self.data_dir, segment_seconds=self.samples / self.model.cfg.autoencoder.sample_rate,
            sample_rate=self.model.cfg.autoencoder.sample_rate, seed=cfg.run.seed,
            snap_to_downbeat=d.snap_to_downbeat, loudness=d.loudness, target_db=d.target_db, strict=d.strict,
        )
        return ShardedBatches(
            dataset, batch_size=d.batch_size, rank=env.rank, world_size=env.world_size, seed=cfg.run.seed,
            num_workers=d.num_workers, collate=collate_stems, pin_memory=env.device.type == "cuda",
        )

    def waveforms(self, batch: dict[str, Any]) -> Tensor:
        """The tracks to train on, [N, 2, L]: every stem and the mix (tracks='all') or one random track
        per example; digitally silent tracks are left out (unless all are)."""
        audio = batch["audio"].to(self.env.device, non_blocking=True)  # [B, 5, 2, L]
        b, n = audio.shape[:2]
        if self.cfg.tracks == "random":
            pick = torch.randint(0, n, (b,)).to(audio.device)
            wav = audio[torch.arange(b, device=audio.device), pick]
        else:
            wav = audio.reshape(b * n, *audio.shape[2:])
        loud = wav.pow(2).mean(dim=(1, 2)).sqrt() > SILENCE_RMS
        return wav[loud] if bool(loud.any()) else wav

    def generator_loss(self, wav: Tensor, *, adversarial: bool) -> tuple[Tensor, Tensor, dict[str, float]]:
        """(total loss, reconstruction, metrics) of the autoencoder on wav [N, 2, L]."""
        w = self.cfg.loss
        with self.autocast():
            recon, _ = self.ddp("autoencoder")(wav)
        recon = recon.float()[..., : wav.shape[-1]]
        l_stft = self.stft_loss(recon, wav)
        l_wave = waveform_l1(recon, wav)
        loss = w.w_stft * l_stft + w.w_wave * l_wave
        metrics = {"loss/stft": float(l_stft.detach()), "loss/wave": float(l_wave.detach())}
        if self.mel_loss is not None:
            l_mel = self.mel_loss(recon, wav)
            loss = loss + w.w_mel * l_mel
            metrics["loss/mel"] = float(l_mel.detach())
        if adversarial:
            self.disc.requires_grad_(False)
            with self.autocast():
                fake = self.disc(recon)
                with torch.no_grad():
                    real = self.disc(wav)
            self.disc.requires_grad_(True)
            l_adv = generator_adversarial_loss([f[0] for f in fake], w.adversarial)
            l_feat = feature_matching_loss([r[1] for r in real], [f[1] for f in fake])
            loss = loss + w.w_adv * l_adv + w.w_feat * l_feat
            metrics.update({"loss/adv": float(l_adv.detach()), "loss/feat": float(l_feat.detach())})
        return loss, recon, metrics

    def train_step(self, batch: dict[str, Any]) -> StepOutput:
        out = StepOutput()
        wav = self.waveforms(batch)
        adversarial = self.step >= self.cfg.loss.disc_start
        loss, recon, metrics = self.generator_loss(wav, adversarial=adversarial)
        out.metrics.update(metrics)
        updated = self.apply_update("autoencoder", loss, out)
        out.metrics["loss"] = out.metrics["loss_mean/autoencoder"]
        if not updated:
            return out
        if adversarial:
            with self.autocast():
                scores = self.ddp("disc")(torch.cat([wav, recon.detach()]))
            n = wav.shape[0]
            d_loss = discriminator_loss([s[0][:n] for s in scores], [s[0][n:] for s in scores], self.cfg.loss.adversarial)
            out.metrics["loss/disc"] = float(d_loss.detach())
            self.apply_update("disc", d_loss, out)
        if self.cfg.eval_every and self.step % self.cfg.eval_every == 0:
            out.metrics.update(self.evaluate(wav))
        return out

    @torch.no_grad()
    def evaluate(self, wav: Tensor) -> dict[str, float]:
        """SI-SDR (dB) and multi-resolution STFT distance of the EMA autoencoder (no masking) on wav."""
        ema = self.emas["autoencoder"].module
        recon = ema.decode(ema.encode(wav)).float()[..., : wav.shape[-1]]
        return {"eval/si_sdr": float(si_sdr(recon, wav).mean()), "eval/mrstft": mrstft_distance(recon, wav)}

    def export_model(self) -> JenModel:
        m = self.model
        return JenModel(m.cfg, autoencoder=self.emas["autoencoder"].module, whitener=m.whitener,
                        text_encoder=m.text_encoder, jen1=m.jen1, composer=m.composer)
