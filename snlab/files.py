"""Atomic writes: a temporary file in the same folder, then a rename, so a kill never leaves half a file."""
from __future__ import annotations

import os
from pathlib import Path

import torch


def atomic_save(obj, path: str | Path) -> None:
    """``torch.save`` atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def atomic_write_text(text: str, path: str | Path) -> None:
    """Write ``text`` atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
