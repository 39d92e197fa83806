"""Standard JSON text; atomic writes (a temporary file in the same folder, then a rename, so a kill never
leaves half a file, and two writers of one file never share a temporary one); an exclusive lock on a run
directory."""
from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch


def json_text(obj, **kwargs) -> str:
    """``json.dumps(obj, **kwargs)`` as standard JSON, which has no NaN or infinity: those floats (a value
    not measured, a diverged run's worst outcome) become null, so that every JSON reader can read the file."""
    def standard(o):
        if isinstance(o, (float, np.floating)):
            return float(o) if np.isfinite(o) else None
        if isinstance(o, dict):
            return {k: standard(v) for k, v in o.items()}
        return [standard(v) for v in o] if isinstance(o, (list, tuple)) else o
    return json.dumps(standard(obj), allow_nan=False, **kwargs)


def atomic_save(obj, path: str | Path) -> None:
    """``torch.save`` atomically."""
    atomic_write(path, lambda tmp: torch.save(obj, tmp))


def atomic_write_text(text: str, path: str | Path) -> None:
    """Write ``text`` atomically."""
    atomic_write(path, lambda tmp: tmp.write_text(text))


def atomic_write_bytes(data: bytes, path: str | Path) -> None:
    """Write ``data`` atomically."""
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_savez(path: str | Path, compress: bool = False, **arrays) -> Path:
    """``np.savez`` (``np.savez_compressed`` with ``compress``) atomically. Like numpy, adds ".npz" to a name
    without it; returns the path written."""
    path = Path(path)
    path = path if path.suffix == ".npz" else path.with_name(path.name + ".npz")
    buffer = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buffer, **arrays)
    atomic_write_bytes(buffer.getvalue(), path)
    return path


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> None:
    """``write(tmp)`` a temporary file beside ``path`` (its folder made if missing), then rename it over
    ``path``. A failed write (a full disk, a read-only folder, a file where the folder should be) removes the
    temporary file and raises OSError naming ``path``; the previous file, if any, is left as it was.

    The temporary name is unique to this call (``<name>.<pid>.<random>.tmp``): processes that write the
    same file at once (sweep workers filling one feature cache or unpacking one dataset) each rename a
    complete file of their own, and the last rename wins. A writer killed mid-write leaves its temporary
    file behind: ``remove_stale_temporaries`` clears them."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as e:  # torch.save reports a full disk as RuntimeError
        with contextlib.suppress(OSError):  # e.g. the folder is a file: there is no temporary file to remove
            tmp.unlink(missing_ok=True)
        raise OSError(f"could not write {path} ({type(e).__name__}: {e}); the previous {path.name}, if any, "
                      "is intact. Free disk space or fix the folder's permissions, then resume.") from None


def remove_stale_temporaries(folder: str | Path, older_than: float = 0.0) -> None:
    """Remove the temporary files ``atomic_write`` left in ``folder`` (not below it) when its writer was
    killed: those whose process is no longer running on this host and that were last written more than
    ``older_than`` seconds ago (a folder other hosts also write, like a shared feature cache, wants an
    age, since their pids mean nothing here)."""
    now = time.time()
    for tmp in Path(folder).glob("*.*.*.tmp"):
        pid, token = tmp.name.rsplit(".", 3)[1:3]
        if not (pid.isdigit() and len(token) == 8 and all(c in "0123456789abcdef" for c in token)):
            continue  # not a name atomic_write makes: someone else's file
        with contextlib.suppress(FileNotFoundError):  # its writer renamed it meanwhile
            if not _running(int(pid)) and now - tmp.stat().st_mtime > older_than:
                tmp.unlink()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def load_checkpoint(path: str | Path) -> dict:
    """A state written by ``atomic_save``, read with ``torch.load(weights_only=True)`` (tensors and plain
    containers only; nothing in the file runs). An empty, truncated or foreign file raises ValueError
    naming it, never a half-loaded state."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - every way a file can be unreadable means the same to the caller
        raise ValueError(f"{path} is not a readable checkpoint ({type(e).__name__}): it is empty, truncated or "
                         "corrupt. Delete it to train its run from the start, or put back a good copy.") from None


class Busy(RuntimeError):
    """Another process holds the lock: it is writing the same run directory right now."""


def held(path: str | Path) -> bool:
    """Whether some process (this one included) holds the ``exclusive`` lock on ``path`` right now.
    The probe takes the lock for an instant when it is free; ``exclusive`` retries past that."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing also drops the lock when it was ours to take
    return False


@contextlib.contextmanager
def exclusive(path: str | Path, wait: float = 1.0) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if needed) for the block, or raise ``Busy`` when it
    is still held after ``wait`` seconds (the retries ride out ``held``'s momentary probes).

    The kernel drops the lock when its holder exits, even on SIGKILL, so a killed run never leaves a
    stale lock. Two sweeps on one machine, or on hosts sharing a file system with working POSIX locks
    (local disks, NFSv4), never write one run directory at once.
    """
    deadline = time.monotonic() + wait
    with open(path, "a+") as f:
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    f.seek(0)
                    raise Busy(f"{Path(path).parent} is being written by another process "
                               f"({f.read().strip() or 'unknown'})") from None
                time.sleep(0.05)
        f.truncate(0)
        f.write(f"pid {os.getpid()} on {os.uname().nodename}")
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
