"""``python -m training.eval ...`` runs `jen eval ...` (same options)."""

from __future__ import annotations

import sys

from training.eval.cli import main

sys.exit(main())
