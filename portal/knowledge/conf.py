"""Typed, validated configuration of the knowledge app: retrieval and ingestion.

``RetrievalConfig.from_settings()`` and ``IngestionConfig.from_settings()`` read the Django
settings (portal/settings.py, section "Knowledge") at the moment they are called, so a test's
``override_settings`` is seen exactly as production's environment is; constructing one directly
runs the same validation. A bad value raises ImproperlyConfigured naming the setting.

Where a default was chosen on evaluation data, docs/decisions.md has the figure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from portal.env import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_str,
)

RETRIEVERS = ("bm25", "dense", "hybrid", "hybrid_rerank")
FUSIONS = ("rrf", "weighted")
FAISS_DEVICES = ("auto", "cpu", "gpu")
EMBEDDING_MODELS = ("use-multilingual", "minilm")  # or "st:/path/to/model"
_OCR_LANGUAGES = re.compile(r"[A-Za-z_]+(?:\+[A-Za-z_]+)*")


def _django_settings(settings):
    if settings is None:
        from django.conf import settings
    return settings


@dataclass(frozen=True)
class RetrievalConfig:
    """How passages are found: the embedder, the indexes and the search over them."""

    #: EMBEDDING_MODEL: "use-multilingual" (default; Chinese, English, cross-language),
    #: "minilm" (English) or "st:/path/to/sentence-transformers-model".
    embedding_model: str = "use-multilingual"
    #: EMBEDDING_BATCH_SIZE: texts per embedder call during ingestion (>= 1).
    embedding_batch_size: int = 64
    #: FAISS_DEVICE: "auto" (a GPU when the faiss GPU build sees one), "cpu" or "gpu".
    faiss_device: str = "auto"
    #: SEARCH_THREADS: BLAS/FAISS threads for one query (>= 1).
    threads: int = 1
    #: SEARCH_TOP_K: passages returned when the caller does not say (>= 1).
    top_k: int = 5
    #: SEARCH_RETRIEVER: "hybrid" (BM25 + dense, fused), "bm25", "dense" or "hybrid_rerank".
    retriever: str = "hybrid"
    #: SEARCH_CANDIDATES: candidates per retriever before fusion (>= 1).
    candidates: int = 50
    #: SEARCH_FUSION: "weighted" score fusion (chosen on dev) or "rrf".
    fusion: str = "weighted"
    #: SEARCH_RRF_K: the k of reciprocal-rank fusion (>= 1).
    rrf_k: int = 60
    #: SEARCH_DENSE_WEIGHT: the dense list's share in weighted fusion, 0..1 (0.3 chosen on dev).
    dense_weight: float = 0.3
    #: SEARCH_RERANKER: dotted path of a class with rerank(question, passages); "" for none.
    reranker: str = ""
    #: SEARCH_RERANK_POOL: fused candidates handed to the reranker (>= 1).
    rerank_pool: int = 20
    #: SEARCH_ANN_THRESHOLD: live chunks from which the dense index is IVF; 0 keeps exact search.
    ann_threshold: int = 50000
    #: SEARCH_ANN_NPROBE: IVF cells scanned per query (>= 1; raised for narrow filters).
    ann_nprobe: int = 256
    #: SEARCH_FILTER_CACHE_SIZE: allowed-id sets kept per process (>= 1).
    filter_cache_size: int = 64
    #: SEARCH_QUERY_CACHE_SIZE: question vectors kept per process (0 turns the cache off).
    query_cache_size: int = 1024
    #: INDEX_DIR: the folder that holds the FAISS and BM25 files (under PORTAL_DATA_DIR).
    index_dir: Path = Path("var/index")

    def __post_init__(self) -> None:
        model = check_str("EMBEDDING_MODEL", self.embedding_model, required=True)
        if model not in EMBEDDING_MODELS and not (model.startswith("st:") and model[3:].strip()):
            raise ImproperlyConfigured(
                f"EMBEDDING_MODEL must be one of {', '.join(EMBEDDING_MODELS)} or "
                f"'st:/path/to/model', got {model!r}."
            )
        check_int("EMBEDDING_BATCH_SIZE", self.embedding_batch_size, minimum=1)
        check_choice("FAISS_DEVICE", self.faiss_device, FAISS_DEVICES)
        check_int("SEARCH_THREADS", self.threads, minimum=1)
        check_int("SEARCH_TOP_K", self.top_k, minimum=1)
        check_choice("SEARCH_RETRIEVER", self.retriever, RETRIEVERS)
        check_int("SEARCH_CANDIDATES", self.candidates, minimum=1)
        check_choice("SEARCH_FUSION", self.fusion, FUSIONS)
        check_int("SEARCH_RRF_K", self.rrf_k, minimum=1)
        check_float("SEARCH_DENSE_WEIGHT", self.dense_weight, minimum=0.0, maximum=1.0)
        reranker = check_str("SEARCH_RERANKER", self.reranker)
        if reranker and ("." not in reranker or any(not part for part in reranker.split("."))):
            raise ImproperlyConfigured(
                f"SEARCH_RERANKER must be a dotted path (package.module.Class), got {reranker!r}."
            )
        # hybrid_rerank without a reranker is not an error: it ranks as hybrid (documented), so
        # a deployment can switch the retriever before its reranker is installed.
        check_int("SEARCH_RERANK_POOL", self.rerank_pool, minimum=1)
        check_int("SEARCH_ANN_THRESHOLD", self.ann_threshold, minimum=0)
        check_int("SEARCH_ANN_NPROBE", self.ann_nprobe, minimum=1)
        check_int("SEARCH_FILTER_CACHE_SIZE", self.filter_cache_size, minimum=1)
        check_int("SEARCH_QUERY_CACHE_SIZE", self.query_cache_size, minimum=0)
        if not isinstance(self.index_dir, str | Path) or not str(self.index_dir):
            raise ImproperlyConfigured(f"INDEX_DIR must be a folder path, got {self.index_dir!r}.")
        object.__setattr__(self, "index_dir", Path(self.index_dir))

    @classmethod
    def from_settings(cls, settings=None) -> RetrievalConfig:
        """Read the SEARCH_*, EMBEDDING_*, FAISS_DEVICE and INDEX_DIR settings (now)."""
        s = _django_settings(settings)
        return cls(
            embedding_model=s.EMBEDDING_MODEL,
            embedding_batch_size=s.EMBEDDING_BATCH_SIZE,
            faiss_device=s.FAISS_DEVICE,
            threads=s.SEARCH_THREADS,
            top_k=s.SEARCH_TOP_K,
            retriever=s.SEARCH_RETRIEVER,
            candidates=s.SEARCH_CANDIDATES,
            fusion=s.SEARCH_FUSION,
            rrf_k=s.SEARCH_RRF_K,
            dense_weight=s.SEARCH_DENSE_WEIGHT,
            reranker=s.SEARCH_RERANKER,
            rerank_pool=s.SEARCH_RERANK_POOL,
            ann_threshold=s.SEARCH_ANN_THRESHOLD,
            ann_nprobe=s.SEARCH_ANN_NPROBE,
            filter_cache_size=s.SEARCH_FILTER_CACHE_SIZE,
            query_cache_size=s.SEARCH_QUERY_CACHE_SIZE,
            index_dir=s.INDEX_DIR,
        )


@dataclass(frozen=True)
class IngestionConfig:
    """Limits and chunking of the upload -> parse -> chunk -> embed -> index pipeline."""

    #: UPLOAD_MAX_BYTES: largest accepted file, in bytes (>= 1024; default 50 MB).
    upload_max_bytes: int = 50 * 1024 * 1024
    #: UPLOAD_MAX_FILES: files in one upload (>= 1).
    upload_max_files: int = 20
    #: INGEST_CHUNK_MAX_CHARS: longest chunk, in characters (>= 100).
    chunk_max_chars: int = 800
    #: INGEST_CHUNK_OVERLAP_CHARS: characters repeated between neighbouring chunks
    #: (>= 0 and less than INGEST_CHUNK_MAX_CHARS).
    chunk_overlap_chars: int = 120
    #: INGEST_MAX_UNPACKED_BYTES: a DOCX may unpack to at most this many bytes (>= 1024).
    max_unpacked_bytes: int = 200 * 1024 * 1024
    #: INGEST_MAX_ZIP_ENTRIES: a DOCX may hold at most this many zip entries (>= 10).
    max_zip_entries: int = 2000
    #: INGEST_MAX_PAGES: a PDF may have at most this many pages (>= 1).
    max_pages: int = 5000
    #: INGEST_PARSE_TIMEOUT_S: wall-clock limit of the sandboxed parser child process (> 0).
    parse_timeout_s: float = 120.0
    #: INGEST_PARSE_MEMORY_MB: memory limit of the parser child process (>= 128).
    parse_memory_mb: int = 1024
    #: INGEST_STUCK_AFTER_S: a job whose heartbeat is older is re-enqueued (>= 30).
    stuck_after_s: int = 900
    #: INGEST_MAX_ATTEMPTS: deliveries (worker deaths included) before a document fails (>= 1).
    max_attempts: int = 3
    #: INGEST_SCREEN_PLANTED: flag sentences addressed to an AI at the chunk step.
    screen_planted: bool = True
    #: INGEST_PLANTED_CLASSIFIER_PATH: the detector file ("" = ingestion/data's).
    planted_classifier_path: str = ""
    #: INGEST_PLANTED_THRESHOLD: 0..1, or None for the file's per-language thresholds.
    planted_threshold: float | None = None
    #: INGEST_OCR: read scanned PDF pages and PNG/JPEG/TIFF uploads with Tesseract.
    ocr: bool = True
    #: INGEST_OCR_LANGUAGES: Tesseract languages joined by "+" ("chi_sim+eng").
    ocr_languages: str = "chi_sim+eng"
    #: INGEST_OCR_MIN_TEXT_CHARS: a PDF page with fewer text-layer characters is OCR'd (>= 0).
    ocr_min_text_chars: int = 20
    #: INGEST_OCR_PAGE_TIMEOUT_S: limit of one page's OCR, added to the parse limit (> 0).
    ocr_page_timeout_s: float = 60.0
    #: INGEST_OCR_WORKERS: pages read at once, one core each (>= 1).
    ocr_workers: int = 2
    #: INGEST_OCR_DPI: resolution scanned PDF pages are rendered at (72..1200).
    ocr_dpi: int = 250

    def __post_init__(self) -> None:
        check_int("UPLOAD_MAX_BYTES", self.upload_max_bytes, minimum=1024)
        check_int("UPLOAD_MAX_FILES", self.upload_max_files, minimum=1)
        check_int("INGEST_CHUNK_MAX_CHARS", self.chunk_max_chars, minimum=100)
        check_int("INGEST_CHUNK_OVERLAP_CHARS", self.chunk_overlap_chars, minimum=0)
        if self.chunk_overlap_chars >= self.chunk_max_chars:
            raise ImproperlyConfigured(
                "INGEST_CHUNK_OVERLAP_CHARS must be less than INGEST_CHUNK_MAX_CHARS, got "
                f"{self.chunk_overlap_chars} >= {self.chunk_max_chars}."
            )
        check_int("INGEST_MAX_UNPACKED_BYTES", self.max_unpacked_bytes, minimum=1024)
        check_int("INGEST_MAX_ZIP_ENTRIES", self.max_zip_entries, minimum=10)
        check_int("INGEST_MAX_PAGES", self.max_pages, minimum=1)
        if check_float("INGEST_PARSE_TIMEOUT_S", self.parse_timeout_s) <= 0:
            raise ImproperlyConfigured(
                f"INGEST_PARSE_TIMEOUT_S must be > 0, got {self.parse_timeout_s}."
            )
        check_int("INGEST_PARSE_MEMORY_MB", self.parse_memory_mb, minimum=128)
        check_int("INGEST_STUCK_AFTER_S", self.stuck_after_s, minimum=30)
        check_int("INGEST_MAX_ATTEMPTS", self.max_attempts, minimum=1)
        check_bool("INGEST_SCREEN_PLANTED", self.screen_planted)
        check_str("INGEST_PLANTED_CLASSIFIER_PATH", self.planted_classifier_path or "")
        if self.planted_threshold is not None:
            check_float(
                "INGEST_PLANTED_THRESHOLD", self.planted_threshold, minimum=0.0, maximum=1.0
            )
        check_bool("INGEST_OCR", self.ocr)
        # Tesseract's language names only: the value becomes a command-line argument.
        if not _OCR_LANGUAGES.fullmatch(check_str("INGEST_OCR_LANGUAGES", self.ocr_languages)):
            raise ImproperlyConfigured(
                "INGEST_OCR_LANGUAGES must be Tesseract language names joined by '+', e.g. "
                f"'chi_sim+eng', got {self.ocr_languages!r}."
            )
        check_int("INGEST_OCR_MIN_TEXT_CHARS", self.ocr_min_text_chars, minimum=0)
        if check_float("INGEST_OCR_PAGE_TIMEOUT_S", self.ocr_page_timeout_s) <= 0:
            raise ImproperlyConfigured(
                f"INGEST_OCR_PAGE_TIMEOUT_S must be > 0, got {self.ocr_page_timeout_s}."
            )
        check_int("INGEST_OCR_WORKERS", self.ocr_workers, minimum=1)
        if check_int("INGEST_OCR_DPI", self.ocr_dpi, minimum=72) > 1200:
            raise ImproperlyConfigured(f"INGEST_OCR_DPI must be <= 1200, got {self.ocr_dpi}.")

    @classmethod
    def from_settings(cls, settings=None) -> IngestionConfig:
        """Read the UPLOAD_* and INGEST_* settings (now)."""
        s = _django_settings(settings)
        return cls(
            upload_max_bytes=s.UPLOAD_MAX_BYTES,
            upload_max_files=s.UPLOAD_MAX_FILES,
            chunk_max_chars=s.INGEST_CHUNK_MAX_CHARS,
            chunk_overlap_chars=s.INGEST_CHUNK_OVERLAP_CHARS,
            max_unpacked_bytes=s.INGEST_MAX_UNPACKED_BYTES,
            max_zip_entries=s.INGEST_MAX_ZIP_ENTRIES,
            max_pages=s.INGEST_MAX_PAGES,
            parse_timeout_s=s.INGEST_PARSE_TIMEOUT_S,
            parse_memory_mb=s.INGEST_PARSE_MEMORY_MB,
            stuck_after_s=s.INGEST_STUCK_AFTER_S,
            max_attempts=s.INGEST_MAX_ATTEMPTS,
            screen_planted=s.INGEST_SCREEN_PLANTED,
            planted_classifier_path=s.INGEST_PLANTED_CLASSIFIER_PATH,
            planted_threshold=s.INGEST_PLANTED_THRESHOLD,
            ocr=s.INGEST_OCR,
            ocr_languages=s.INGEST_OCR_LANGUAGES,
            ocr_min_text_chars=s.INGEST_OCR_MIN_TEXT_CHARS,
            ocr_page_timeout_s=s.INGEST_OCR_PAGE_TIMEOUT_S,
            ocr_workers=s.INGEST_OCR_WORKERS,
            ocr_dpi=s.INGEST_OCR_DPI,
        )
