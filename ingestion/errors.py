"""Errors raised for files that cannot be ingested.

Each class carries a stable ``code`` that callers store and branch on, and a
message written for the admin who uploaded the file: what is wrong and what to
do about it. The sandbox uses ``error_for_code`` to re-raise the same class in
the parent process.
"""

from __future__ import annotations


class IngestionError(Exception):
    code: str = "ingestion_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EmptyFile(IngestionError):
    code = "empty_file"


class FileTooLarge(IngestionError):
    code = "too_large"


class UnsupportedType(IngestionError):
    code = "unsupported_type"


class TypeMismatch(UnsupportedType):
    """The file's extension says one format and its content another (ingestion/declared.py).

    A subclass of UnsupportedType, so callers that branch on "cannot be read as given" still do.
    """

    code = "type_mismatch"


class CorruptFile(IngestionError):
    code = "corrupt"


class EncryptedFile(IngestionError):
    code = "encrypted"


class NoTextLayer(IngestionError):
    code = "no_text_layer"


class ArchiveTooLarge(IngestionError):
    code = "archive_too_large"


class ParseTimeout(IngestionError):
    code = "timeout"


class ParseResourceLimit(IngestionError):
    code = "resource_limit"


class UnsafeFilename(IngestionError):
    code = "unsafe_filename"


class ParserFailed(IngestionError):
    """The parser process died without saying why; not attributable to a limit."""

    code = "parser_failed"


_BY_CODE: dict[str, type[IngestionError]] = {
    cls.code: cls
    for cls in (
        EmptyFile,
        FileTooLarge,
        UnsupportedType,
        TypeMismatch,
        CorruptFile,
        EncryptedFile,
        NoTextLayer,
        ArchiveTooLarge,
        ParseTimeout,
        ParseResourceLimit,
        UnsafeFilename,
        ParserFailed,
    )
}


def error_for_code(code: str, message: str) -> IngestionError:
    """Rebuild the error a sandboxed child reported; unknown codes become ParserFailed."""
    return _BY_CODE.get(code, ParserFailed)(message)


def human_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n} bytes"
