"""The typed per-app configuration objects (portal/<app>/conf.py).

Each is built the way production builds it, ``Config.from_settings()``, from settings a test
overrides, and each refuses a bad value with ImproperlyConfigured naming the setting. No database.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from portal.audit.conf import AuditConfig
from portal.drafting.conf import DraftingConfig
from portal.knowledge.conf import IngestionConfig, RetrievalConfig
from portal.safety.conf import DEFAULT_UNSAFE_CATEGORIES, SafetyConfig
from tests.conftest import ROOT

CONFIGS = [RetrievalConfig, IngestionConfig, SafetyConfig, AuditConfig, DraftingConfig]


@pytest.mark.parametrize("config_class", CONFIGS, ids=lambda c: c.__name__)
def test_the_shipped_settings_are_valid_and_frozen(config_class):
    config = config_class.from_settings()
    field = dataclasses.fields(config)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(config, field.name, getattr(config, field.name))


def test_retrieval_config_reads_every_setting():
    with override_settings(
        EMBEDDING_MODEL="st:/models/e5",
        EMBEDDING_BATCH_SIZE=8,
        FAISS_DEVICE="cpu",
        SEARCH_THREADS=2,
        SEARCH_TOP_K=7,
        SEARCH_RETRIEVER="hybrid_rerank",
        SEARCH_CANDIDATES=30,
        SEARCH_FUSION="rrf",
        SEARCH_RRF_K=10,
        SEARCH_DENSE_WEIGHT=0.5,
        SEARCH_RERANKER="tests.portal.test_retrieval.ReverseReranker",
        SEARCH_RERANK_POOL=9,
        SEARCH_ANN_THRESHOLD=0,
        SEARCH_ANN_NPROBE=16,
        SEARCH_FILTER_CACHE_SIZE=3,
        SEARCH_QUERY_CACHE_SIZE=0,
        INDEX_DIR="/srv/index",
    ):
        config = RetrievalConfig.from_settings()
    assert config == RetrievalConfig(
        embedding_model="st:/models/e5",
        embedding_batch_size=8,
        faiss_device="cpu",
        threads=2,
        top_k=7,
        retriever="hybrid_rerank",
        candidates=30,
        fusion="rrf",
        rrf_k=10,
        dense_weight=0.5,
        reranker="tests.portal.test_retrieval.ReverseReranker",
        rerank_pool=9,
        ann_threshold=0,
        ann_nprobe=16,
        filter_cache_size=3,
        query_cache_size=0,
        index_dir=Path("/srv/index"),
    )
    assert isinstance(config.index_dir, Path)


def test_dataclass_defaults_match_the_shipped_defaults(tmp_path):
    """A config constructed in a test without arguments behaves as an unconfigured deployment:
    the dataclass defaults equal what portal/settings.py gives with an empty environment."""
    code = """
import dataclasses, django
django.setup()
from pathlib import Path
from django.conf import settings
from portal.audit.conf import AuditConfig
from portal.drafting.conf import DraftingConfig
from portal.knowledge.conf import IngestionConfig, RetrievalConfig
from portal.safety.conf import SafetyConfig
retrieval = dataclasses.replace(RetrievalConfig.from_settings(), index_dir=Path("var/index"))
assert retrieval == RetrievalConfig(), retrieval
assert IngestionConfig.from_settings() == IngestionConfig()
assert SafetyConfig.from_settings() == SafetyConfig()
assert DraftingConfig.from_settings() == DraftingConfig()
assert AuditConfig.from_settings() == AuditConfig(hmac_key=settings.AUDIT_HMAC_KEY)
print("same")
"""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PORTAL_DATA_DIR": str(tmp_path),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["same"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"EMBEDDING_MODEL": "bert"}, "EMBEDDING_MODEL must be one of"),
        ({"EMBEDDING_MODEL": "st:"}, "EMBEDDING_MODEL must be one of"),
        ({"FAISS_DEVICE": "tpu"}, "FAISS_DEVICE must be one of"),
        ({"SEARCH_THREADS": 0}, "SEARCH_THREADS must be >= 1"),
        ({"SEARCH_TOP_K": "5"}, "SEARCH_TOP_K must be an integer"),
        ({"SEARCH_TOP_K": True}, "SEARCH_TOP_K must be an integer"),
        ({"SEARCH_RETRIEVER": "bm42"}, "SEARCH_RETRIEVER must be one of"),
        ({"SEARCH_FUSION": "max"}, "SEARCH_FUSION must be one of"),
        ({"SEARCH_DENSE_WEIGHT": 1.5}, "SEARCH_DENSE_WEIGHT must be <= 1.0"),
        ({"SEARCH_DENSE_WEIGHT": -0.1}, "SEARCH_DENSE_WEIGHT must be >= 0.0"),
        ({"SEARCH_DENSE_WEIGHT": float("nan")}, "SEARCH_DENSE_WEIGHT must be a number"),
        ({"SEARCH_RERANKER": "Reranker"}, "SEARCH_RERANKER must be a dotted path"),
        ({"SEARCH_RERANKER": "pkg..Reranker"}, "SEARCH_RERANKER must be a dotted path"),
        ({"SEARCH_ANN_THRESHOLD": -1}, "SEARCH_ANN_THRESHOLD must be >= 0"),
        ({"SEARCH_ANN_NPROBE": 0}, "SEARCH_ANN_NPROBE must be >= 1"),
        ({"SEARCH_FILTER_CACHE_SIZE": 0}, "SEARCH_FILTER_CACHE_SIZE must be >= 1"),
        ({"SEARCH_QUERY_CACHE_SIZE": -1}, "SEARCH_QUERY_CACHE_SIZE must be >= 0"),
        ({"INDEX_DIR": ""}, "INDEX_DIR must be a folder path"),
    ],
)
def test_retrieval_config_refuses_bad_values(overrides, message):
    with override_settings(**overrides), pytest.raises(ImproperlyConfigured, match=message):
        RetrievalConfig.from_settings()


def test_retrieval_config_is_what_search_reads():
    """retrieval.py and indexing.py read their settings through RetrievalConfig: a bad value
    fails there with the config's message instead of deep inside FAISS."""
    from portal.knowledge import indexing

    with (
        override_settings(SEARCH_ANN_NPROBE=0),
        pytest.raises(ImproperlyConfigured, match="SEARCH_ANN_NPROBE must be >= 1"),
    ):
        indexing.dense_search(query_vector=np.zeros(4), k=1)
    with override_settings(INDEX_DIR="/srv/cited/index"):
        assert str(indexing.database_index_dir()).startswith("/srv/cited/index/")


def test_ingestion_config_reads_and_validates():
    with override_settings(INGEST_CHUNK_MAX_CHARS=400, INGEST_CHUNK_OVERLAP_CHARS=50):
        config = IngestionConfig.from_settings()
    assert (config.chunk_max_chars, config.chunk_overlap_chars) == (400, 50)
    bad = [
        ({"INGEST_CHUNK_MAX_CHARS": 50}, "INGEST_CHUNK_MAX_CHARS must be >= 100"),
        (
            {"INGEST_CHUNK_MAX_CHARS": 200, "INGEST_CHUNK_OVERLAP_CHARS": 200},
            "INGEST_CHUNK_OVERLAP_CHARS must be less than INGEST_CHUNK_MAX_CHARS",
        ),
        ({"INGEST_PARSE_TIMEOUT_S": 0}, "INGEST_PARSE_TIMEOUT_S must be > 0"),
        ({"INGEST_MAX_ATTEMPTS": 0}, "INGEST_MAX_ATTEMPTS must be >= 1"),
        ({"UPLOAD_MAX_BYTES": 10}, "UPLOAD_MAX_BYTES must be >= 1024"),
        ({"INGEST_STUCK_AFTER_S": 5}, "INGEST_STUCK_AFTER_S must be >= 30"),
    ]
    for overrides, message in bad:
        with override_settings(**overrides), pytest.raises(ImproperlyConfigured, match=message):
            IngestionConfig.from_settings()


def test_safety_config_reads_and_validates():
    with override_settings(
        SAFETY_REFUSE_SCORE=1.2,
        SAFETY_CAUTION_SCORE=0.4,
        SAFETY_UNSAFE_CATEGORIES=["weapons", "fraud"],
        SAFETY_HOLD_CATEGORIES=["indirect_injection"],
        SAFETY_HOLD_DOSE_ANSWERS=True,
        SAFETY_LEXICON_CHECK_S=0,
    ):
        config = SafetyConfig.from_settings()
    assert config.refuse_score == 1.2  # rule scores may exceed 1: only >= caution is required
    assert config.unsafe_categories == ("weapons", "fraud")
    assert config.hold_categories == ("indirect_injection",)
    assert config.hold_dose_answers is True and config.lexicon_check_s == 0.0
    bad = [
        (
            {"SAFETY_REFUSE_SCORE": 0.4, "SAFETY_CAUTION_SCORE": 0.5},
            "SAFETY_CAUTION_SCORE .* must not exceed SAFETY_REFUSE_SCORE",
        ),
        ({"SAFETY_MITIGATION": -0.1}, "SAFETY_MITIGATION must be >= 0.0"),
        ({"SAFETY_UNSAFE_CATEGORIES": ["weapon"]}, "unknown categories \\['weapon'\\]"),
        ({"SAFETY_UNSAFE_CATEGORIES": "weapons"}, "must be a list of strings"),
        ({"SAFETY_HOLD_CATEGORIES": [""]}, "must hold non-empty strings"),
        ({"SAFETY_MIN_SUPPORTED_RATIO": 1.1}, "SAFETY_MIN_SUPPORTED_RATIO must be <= 1.0"),
        ({"SAFETY_PII_NAME_SCORE": 2}, "SAFETY_PII_NAME_SCORE must be <= 1.0"),
        ({"SAFETY_OUT_OF_SCOPE": "yes"}, "SAFETY_OUT_OF_SCOPE must be True or False"),
        ({"SAFETY_PROMPT_LEAK_WORDS": 3}, "SAFETY_PROMPT_LEAK_WORDS must be >= 4"),
        ({"SAFETY_PROMPT_LEAK_CHARS": 7}, "SAFETY_PROMPT_LEAK_CHARS must be >= 8"),
        ({"SAFETY_CRISIS_LINES_ZH": " "}, "SAFETY_CRISIS_LINES_ZH must not be empty"),
        ({"SAFETY_EMERGENCY_NUMBER_EN": ""}, "SAFETY_EMERGENCY_NUMBER_EN must not be empty"),
    ]
    for overrides, message in bad:
        with override_settings(**overrides), pytest.raises(ImproperlyConfigured, match=message):
            SafetyConfig.from_settings()


def test_safety_categories_match_the_rule_table():
    from portal.safety.rules_unsafe import UNSAFE

    assert {rule.category for rule in UNSAFE} == set(DEFAULT_UNSAFE_CATEGORIES)
    assert list(settings.SAFETY_UNSAFE_CATEGORIES) == list(DEFAULT_UNSAFE_CATEGORIES)


def test_audit_config_reads_validates_and_hides_its_keys():
    with override_settings(
        AUDIT_HMAC_KEY="current-" + "k" * 40,
        AUDIT_HMAC_PREVIOUS_KEYS=["old-" + "o" * 40],
        AUDIT_CHECKPOINT_EVERY_S=60,
        AUDIT_RETENTION_DAYS=30,
        AUDIT_PROXY_COUNT=1,
    ):
        config = AuditConfig.from_settings()
    assert config.verification_keys == ("current-" + "k" * 40, "old-" + "o" * 40)
    assert (config.checkpoint_every_s, config.retention_days, config.proxy_count) == (60.0, 30, 1)
    assert "kkkk" not in repr(config) and "oooo" not in repr(config)
    # A short key is valid here: `check --deploy` (portal/audit/checks.py) judges its strength.
    with override_settings(AUDIT_HMAC_KEY="too-short"):
        assert AuditConfig.from_settings().hmac_key == "too-short"
    bad = [
        ({"AUDIT_HMAC_KEY": ""}, "AUDIT_HMAC_KEY must not be empty"),
        ({"AUDIT_HMAC_PREVIOUS_KEYS": "old"}, "AUDIT_HMAC_PREVIOUS_KEYS must be a list"),
        (
            {
                "AUDIT_HMAC_KEY": "same-" + "s" * 40,
                "AUDIT_HMAC_PREVIOUS_KEYS": ["same-" + "s" * 40],
            },
            "must not list the current AUDIT_HMAC_KEY",
        ),
        ({"AUDIT_CHECKPOINT_EVERY_S": 0}, "AUDIT_CHECKPOINT_EVERY_S must be > 0"),
        ({"AUDIT_RETENTION_DAYS": 0}, "AUDIT_RETENTION_DAYS must be >= 1"),
        ({"AUDIT_PROXY_COUNT": -1}, "AUDIT_PROXY_COUNT must be >= 0"),
    ]
    for overrides, message in bad:
        with override_settings(**overrides), pytest.raises(ImproperlyConfigured, match=message):
            AuditConfig.from_settings()


def test_drafting_config_reads_and_validates():
    with override_settings(DRAFT_PASSAGES=4, DRAFT_PROMPT_PASSAGES=2, DRAFT_MAX_TOKENS=64):
        config = DraftingConfig.from_settings()
    assert (config.passages, config.prompt_passages, config.max_tokens) == (4, 2, 64)
    bad = [
        ({"DRAFT_PASSAGES": 0}, "DRAFT_PASSAGES must be >= 1"),
        ({"DRAFT_PASSAGE_MAX_CHARS": 99}, "DRAFT_PASSAGE_MAX_CHARS must be >= 100"),
        ({"DRAFT_MAX_TOKENS": 16}, "DRAFT_MAX_TOKENS must be >= 32"),
        ({"DRAFT_FACTS_MAX_CHARS": 10}, "DRAFT_FACTS_MAX_CHARS must be >= 100"),
        ({"DRAFT_MIN_LEXICAL_RELEVANCE": 1.5}, "DRAFT_MIN_LEXICAL_RELEVANCE must be <= 1.0"),
        ({"DRAFT_MIN_DENSE_RELEVANCE": -0.5}, "DRAFT_MIN_DENSE_RELEVANCE must be >= 0.0"),
        ({"DRAFT_EXTRACTIVE_MIN_COVERAGE": "0.1"}, "must be a number"),
    ]
    for overrides, message in bad:
        with override_settings(**overrides), pytest.raises(ImproperlyConfigured, match=message):
            DraftingConfig.from_settings()


def test_a_config_constructed_directly_is_validated_the_same_way():
    with pytest.raises(ImproperlyConfigured, match="SEARCH_TOP_K must be >= 1"):
        RetrievalConfig(top_k=0)
    with pytest.raises(ImproperlyConfigured, match="AUDIT_HMAC_KEY must not be empty"):
        AuditConfig()
    assert DraftingConfig(passages=3).passages == 3


def test_from_settings_accepts_any_settings_object():
    """Plain-Python callers (benchmarks, scripts) can pass their own namespace."""
    from types import SimpleNamespace

    values = {name: getattr(settings, name) for name in dir(settings) if name.startswith("DRAFT_")}
    config = DraftingConfig.from_settings(SimpleNamespace(**{**values, "DRAFT_PASSAGES": 12}))
    assert config.passages == 12
