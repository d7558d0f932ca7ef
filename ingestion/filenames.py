"""Make an uploaded file's name safe to store and show."""

from __future__ import annotations

import re
import unicodedata

from ingestion.errors import UnsafeFilename

MAX_FILENAME_CHARS = 200
_MAX_EXT_CHARS = 16

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# Characters Windows refuses in names; uploads may be copied to Windows shares.
_WINDOWS_BAD = re.compile(r'[<>:"|?*]')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)


def safe_filename(name: str) -> str:
    """Basename of ``name`` with anything dangerous removed; Unicode is kept.

    Both ``/`` and ``\\`` count as separators whatever the server OS, because a
    browser on Windows may send ``C:\\Users\\x\\report.pdf``.
    """
    if not isinstance(name, str):
        raise UnsafeFilename("The file name is not text; rename the file and upload it again.")
    cleaned = _CONTROL.sub("", unicodedata.normalize("NFC", name))
    base = re.split(r"[\\/]", cleaned)[-1]
    base = _WINDOWS_BAD.sub("_", base)
    # Leading dots make hidden files (and ".." a parent); trailing dots and
    # spaces are silently dropped by Windows, so strip both ends.
    base = base.strip().lstrip(".").rstrip(". ").strip()
    if not base or not any(ch.isalnum() for ch in base):
        raise UnsafeFilename(
            f"The file name {name!r} has no usable characters once directories and "
            "control characters are removed; rename the file and upload it again."
        )
    if _WINDOWS_RESERVED.match(base):
        base = "_" + base
    if len(base) > MAX_FILENAME_CHARS:
        stem, dot, ext = base.rpartition(".")
        if dot and stem and 0 < len(ext) <= _MAX_EXT_CHARS:
            base = stem[: MAX_FILENAME_CHARS - len(ext) - 1].rstrip(". ") + "." + ext
        else:
            base = base[:MAX_FILENAME_CHARS].rstrip(". ")
    return base
