"""Evaluation harness (`jen eval`): offline music metrics, the bounds they are reported beside, plots.

Metrics are pure functions of numpy audio ``[C, L]`` and a sample rate, one concept per module:
``metrics_rhythm`` (tempo, onsets, alignment), ``metrics_key`` (chroma key, agreement),
``metrics_stems`` (presence, instrument family), ``metrics_recon`` (mel, multi-resolution STFT,
SI-SDR), ``metrics_frechet`` (Frechet distance on an offline embedding), ``metrics_pitch``
(torchcrepe / basic-pitch, optional), ``codec_opus`` (the reference codec). ``harness`` runs a
model over a set, ``report`` aggregates, ``plots`` draws, ``cli`` registers ``jen eval``.
Nothing here downloads weights.
"""
