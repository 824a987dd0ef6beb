"""Speed and quality harnesses: ``jen bench`` (time to first audio, real-time factor per backend)."""
