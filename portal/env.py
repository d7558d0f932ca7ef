"""Typed readers for settings that come from the environment.

Every value may also come from a file: ``NAME_FILE=/run/secrets/name`` wins over ``NAME`` (the
Docker/Kubernetes secrets convention). Bad values raise ImproperlyConfigured naming the variable,
so a typo fails at start-up rather than as odd behaviour later. Reading a ``*_FILE`` is the only
I/O done here, and only when the operator asked for it.

The ``check_*`` functions at the end validate a value that has already been read (from the
environment, a settings override in a test, ...) for the typed per-app configuration objects in
``portal/<app>/conf.py``; they raise the same ImproperlyConfigured, naming the setting.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_path!r} cannot be read: {exc}") from exc
    return os.environ.get(name)


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = _raw(name)
    if value is None or value == "":
        if required:
            raise ImproperlyConfigured(f"The environment variable {name} is required.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        parsed = int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}.") from exc
    if minimum is not None and parsed < minimum:
        raise ImproperlyConfigured(f"{name} must be >= {minimum}, got {parsed}.")
    return parsed


def env_float(name: str, default: float) -> float:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}.") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}.")
    return value


# --- Checks for values already read (the typed per-app configs in portal/<app>/conf.py) ---------
# The env_* readers above check what comes from the environment; these check a value however it
# arrived (environment, settings file, override_settings in a test), naming the setting.


def check_int(name: str, value: object, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}.")
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be >= {minimum}, got {value}.")
    return value


def check_float(
    name: str, value: object, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}.")
    if value != value:  # NaN passes every comparison below
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}.")
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be >= {minimum}, got {value}.")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name} must be <= {maximum}, got {value}.")
    return float(value)


def check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ImproperlyConfigured(f"{name} must be True or False, got {value!r}.")
    return value


def check_str(name: str, value: object, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise ImproperlyConfigured(f"{name} must be a string, got {value!r}.")
    if required and not value.strip():
        raise ImproperlyConfigured(f"{name} must not be empty.")
    return value


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}.")
    return value  # type: ignore[return-value]


def check_str_tuple(name: str, value: object) -> tuple[str, ...]:
    """A list or tuple of non-empty strings (a bare string would iterate as characters)."""
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ImproperlyConfigured(f"{name} must be a list of strings, got {value!r}.")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ImproperlyConfigured(f"{name} must hold non-empty strings, got {item!r}.")
    return tuple(value)
