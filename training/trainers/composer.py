"""JEN-1 Composer training (Composer 4.1, 4.3, 5.1) on bass, drums, instrument, melody (K = 4).

Per example:
- a target pattern from the progressive curriculum (single tracks first, towards all 2^K - 1);
- every non-target track KEPT (clean, t = 0) with p1 = 0.8, else ABSENT (pure noise, t = T);
- the targets share one t; their in-context channels are empty (mask 1), or with
  ``region_prob`` hold the known frames outside a 20-80 % region (compose(region=...));
- the prompt gets the task prefix, e.g. "[bass & drums generation] <caption>";
- text dropped with ``cond_drop_prob`` (text CFG for joint generation);
- loss on the target tracks only.
Self-bootstrapping (after ``bootstrap.start_step``, p2 = 0.5 per example with kept tracks):
some kept tracks are replaced by tracks the EMA teacher generates from the other kept tracks
(a short sampler run under no_grad), as in the human-AI co-composition loop.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import torch
from torch import Tensor

from jen_core.conditioning import prefixed_prompt
from jen_core.diffusion import get_sampler
from jen_core.pipelines.tracks import Role, TrackLayout
from jen_core.unet import OmniUNet1D, UNetCond, split_tracks
from training.curriculum import Curriculum, sample_roles
from training.trainers.diffusion import DenoiseObjective, DiffusionTrainer


def init_composer_from_jen1(composer: OmniUNet1D, jen1: OmniUNet1D) -> dict[str, list[str]]:
    """Copy every JEN-1 weight whose name and shape match into the Composer UNet.

    The per-track timestep MLPs ``time.tracks.i`` (i >= 1) start as copies of JEN-1's only one;
    tensors whose shape depends on K (input/output convs, the timestep projection) keep their
    fresh initialisation. Returns {"copied", "replicated", "reinitialised"} name lists.
    """
    src = jen1.state_dict()
    dst = composer.state_dict()
    report: dict[str, list[str]] = {"copied": [], "replicated": [], "reinitialised": []}
    new = {}
    for name, value in dst.items():
        source = name
        if name.startswith("time.tracks.") and name not in src:
            source = "time.tracks.0." + name.split(".", 3)[3]
        if source in src and src[source].shape == value.shape:
            new[name] = src[source].to(value.dtype)
            report["copied" if source == name else "replicated"].append(name)
        else:
            new[name] = value
            report["reinitialised"].append(name)
    composer.load_state_dict(new)
    return report


class ComposerTrainer(DiffusionTrainer):
    kind = "composer"
    unet_name = "composer"

    def __init__(self, cfg: Any, **kwargs: Any) -> None:
        super().__init__(cfg, **kwargs)
        self.stem_names = list(self.model.cfg.stems)
        self.tracks = self.unet.cfg.tracks
        c = cfg.curriculum
        self.curriculum = Curriculum(tracks=self.tracks, schedule=c.schedule, start_step=c.start_step, steps=c.steps)

    # ------------------------------------------------------------------ task sampling
    def sample_tasks(self, n: int) -> list[list[Role]]:
        """Roles of the K tracks for n examples at the current step (curriculum + p1 sampler)."""
        patterns = self.curriculum.sample(self.step, n)
        return [sample_roles(p, tracks=self.tracks, p1=self.cfg.p1) for p in patterns]

    def bootstrap_active(self) -> bool:
        start = self.cfg.bootstrap.start_step
        return start is not None and self.step >= start

    # ------------------------------------------------------------------ self-bootstrapping
    @torch.no_grad()
    def bootstrap(self, clean: Tensor, roles: list[list[Role]], captions: list[str], metas: list[dict[str, Any]]) -> int:
        """Replace some kept tracks of some examples in ``clean`` [B, K, k, S] (in place) by EMA-teacher
        generations; returns how many tracks were replaced."""
        cfg = self.cfg.bootstrap
        groups: dict[tuple[Role, ...], list[int]] = defaultdict(list)
        for i, r in enumerate(roles):
            kept = [j for j, role in enumerate(r) if role == Role.KEPT]
            if not kept or float(torch.rand(())) >= cfg.prob:
                continue
            draws = torch.rand(len(kept)).tolist()
            chosen = [j for j, d in zip(kept, draws, strict=True) if d < cfg.track_prob] or [kept[int(torch.randint(len(kept), ()))]]
            teacher = tuple(
                Role.TARGET if j in chosen else (Role.KEPT if role == Role.KEPT else Role.ABSENT)
                for j, role in enumerate(r)
            )
            groups[teacher].append(i)
        ema: DenoiseObjective = self.emas["denoiser"].module  # type: ignore[assignment]
        sampler = get_sampler(cfg.sampler)
        replaced = 0
        for teacher_roles, idx in groups.items():
            targets = [j for j, role in enumerate(teacher_roles) if role == Role.TARGET]
            names = [self.stem_names[j] for j in targets]
            sub = clean[idx]
            layout = TrackLayout(
                roles=list(teacher_roles), clean=sub, mask=torch.ones(sub.shape[0], self.tracks, sub.shape[-1], device=sub.device),
                absent_noise=torch.randn(sub.shape).to(sub.device),
            )
            prompts = [prefixed_prompt(captions[i], names, self.stem_names) for i in idx]
            text = (ema.text_encoder.encode(prompts) if ema.text_encoder is not None
                    else self.model.text_encoder.encode(prompts)).to(sub.device)
            cond = UNetCond(text=text.states, text_mask=text.mask, meta=self.meta([metas[i] for i in idx]))

            def denoise(x_t: Tensor, t: Tensor, layout: TrackLayout = layout, cond: UNetCond = cond,
                        targets: list[int] = targets) -> Tensor:
                inp, t_vec = layout.unet_input(x_t, t, timesteps=self.schedule.T)
                with self.autocast():
                    out = ema.unet(inp, t_vec, cond)
                return self.schedule.to_eps(split_tracks(out.float(), self.tracks)[:, targets], x_t, t, self.prediction)

            x = torch.randn(sub.shape[0], len(targets), *sub.shape[2:]).to(sub.device)
            gen = sampler(denoise, x, self.schedule, steps=cfg.steps)
            for row, i in enumerate(idx):
                clean[i, targets] = gen[row].to(clean.dtype)
            replaced += len(idx) * len(targets)
        return replaced

    # ------------------------------------------------------------------ one step
    def losses(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, float]]:
        dev = self.env.device
        clean = self.clean_latents(batch)[:, : self.tracks].contiguous()  # [B, K, k, S]
        b, k_tracks, _, frames = clean.shape
        roles = self.sample_tasks(b)
        captions, metas = list(batch["caption"]), list(batch["meta"])
        metrics: dict[str, float] = {}
        if self.bootstrap_active():
            metrics["bootstrap_tracks"] = float(self.bootstrap(clean, roles, captions, metas))
        t = self.sample_t(b)
        eps = torch.randn(clean.shape).to(dev)
        absent = torch.randn(clean.shape).to(dev)
        uncond = self.uncond(b)
        region = torch.rand(b) < self.cfg.region_prob
        xs, ts, prompts = [], [], []
        weight = torch.zeros(b, k_tracks)
        for i, r in enumerate(roles):
            targets = [j for j, role in enumerate(r) if role == Role.TARGET]
            weight[i, targets] = 1.0
            mask = torch.ones(1, k_tracks, frames, device=dev)
            if bool(region[i]):
                lo, hi = self.random_span(frames, lo=self.cfg.mask_min, hi=self.cfg.mask_max)
                mask.zero_()
                mask[:, :, lo:hi] = 1.0
            layout = TrackLayout(roles=r, clean=clean[i : i + 1], mask=mask, absent_noise=absent[i : i + 1])
            ti = t[i : i + 1].to(dev)
            x_t = self.schedule.add_noise(clean[i : i + 1, targets], eps[i : i + 1, targets], ti)
            x, t_vec = layout.unet_input(x_t, ti, timesteps=self.schedule.T)
            xs.append(x)
            ts.append(t_vec)
            prompts.append(prefixed_prompt(captions[i], [self.stem_names[j] for j in targets], self.stem_names))
        per_example = self.run_objective(
            torch.cat(xs), torch.cat(ts), self.target(clean, eps, t.to(dev)), weight,
            causal=torch.zeros(b, dtype=torch.bool), prompts=prompts, metas=metas, uncond=uncond,
        )
        sizes = weight.sum(dim=1)
        for n in range(1, k_tracks + 1):
            sel = (sizes == n).to(dev)
            if bool(sel.any()):
                metrics[f"loss/targets_{n}"] = float(per_example.detach()[sel].mean())
        kept = sum(role == Role.KEPT for r in roles for role in r)
        absent_n = sum(role == Role.ABSENT for r in roles for role in r)
        metrics["kept_share"] = kept / max(1, kept + absent_n)
        return per_example.mean(), metrics

    def train_extra(self) -> dict[str, Any]:
        return {"curriculum_progress": self.curriculum.progress(self.step), "bootstrap": self.bootstrap_active()}
