"""Writing index files so readers never see half of one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomically(directory: Path, name: str, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)``, fsync, then rename to ``directory / name`` in one step."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / name
    suffix = "".join(Path(name).suffixes)
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
    os.close(fd)
    try:
        write(tmp_name)
        with open(tmp_name, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp_name, final)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return final
