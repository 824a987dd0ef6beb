"""JEN-1 multi-task training (JEN-1 IV-C, V) on the mix track (K = 1).

Per example one task, a third each by default:
- text-to-music, bidirectional: mask all 1, context 0 (the paper's full-size mask, empty audio);
- inpainting, bidirectional: a random span of 20-80 % of the frames is masked (1), the rest given;
- continuation, unidirectional (causal=True): the last 20-80 % of the frames masked (right-only).
The text is dropped with p = 0.2 by setting ``UNetCond.uncond`` (cross-attention replaced by
self-attention, exactly the unconditional branch inference uses); meta goes with it.
Loss: epsilon MSE over all frames of the track.
"""

from __future__ import annotations

from typing import Any

import torch

from jen_core.pipelines.tracks import Role, TrackLayout
from training.trainers.diffusion import MIX_INDEX, DiffusionTrainer

TASKS = ("text_to_music", "inpaint", "continuation")


class Jen1Trainer(DiffusionTrainer):
    kind = "jen1"
    unet_name = "jen1"

    def task_masks(self, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Draw n tasks: (task index [n] long, mask [n, S] (1 = generate), causal [n] bool)."""
        t = self.cfg.tasks
        weights = torch.tensor([t.text_to_music, t.inpaint, t.continuation], dtype=torch.float64)
        tasks = torch.multinomial(weights, n, replacement=True)
        frames = self.frames
        mask = torch.ones(n, frames)
        for i, task in enumerate(tasks.tolist()):
            if task == 1:
                a, b = self.random_span(frames, lo=t.mask_min, hi=t.mask_max)
                mask[i].zero_()
                mask[i, a:b] = 1.0
            elif task == 2:
                ratio = t.mask_min + (t.mask_max - t.mask_min) * float(torch.rand(()))
                n_gen = min(frames - 1, max(1, round(ratio * frames)))
                mask[i].zero_()
                mask[i, frames - n_gen :] = 1.0
        return tasks, mask, tasks == 2

    def losses(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """Mean loss of the batch and per-task metrics (no backward)."""
        dev = self.env.device
        clean = self.clean_latents(batch)[:, MIX_INDEX : MIX_INDEX + 1]  # [B, 1, k, S]
        b = clean.shape[0]
        tasks, mask, causal = self.task_masks(b)
        t = self.sample_t(b)
        eps = torch.randn(clean.shape).to(dev)
        uncond = self.uncond(b)
        x_t = self.schedule.add_noise(clean, eps, t.to(dev))
        layout = TrackLayout(roles=[Role.TARGET], clean=clean, mask=mask[:, None, :].to(dev), absent_noise=eps)
        x, t_vec = layout.unet_input(x_t, t.to(dev), timesteps=self.schedule.T)
        per_example = self.run_objective(
            x, t_vec, self.target(clean, eps, t.to(dev)), torch.ones(b, 1), causal=causal, prompts=list(batch["caption"]), metas=list(batch["meta"]),
            uncond=uncond,
        )
        metrics = {}
        for i, name in enumerate(TASKS):
            sel = tasks == i
            if bool(sel.any()):
                metrics[f"loss/{name}"] = float(per_example.detach()[sel.to(dev)].mean())
        return per_example.mean(), metrics

