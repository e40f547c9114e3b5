"""Safe YAML reading with libyaml's C parser when PyYAML was built with it.

The C loader reads the same safe subset as ``yaml.safe_load`` about ten times faster, which
matters in report notebooks that read the programme bank, the inventory schema and the texts.
"""

from __future__ import annotations

from typing import Any

import yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(stream: Any) -> Any:
    """``yaml.safe_load`` of a string, bytes or open file, with the fast loader."""
    return yaml.load(stream, Loader=LOADER)  # noqa: S506 - LOADER is a safe loader
