"""textkit is plain Python: these tests need no Django and no database.

The suite-wide autouse ``_isolated_storage`` fixture needs pytest-django's ``settings``; it is
replaced here so ``python -m pytest -p no:django tests/textkit`` runs without a Django
configuration.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_storage() -> None:
    return None
