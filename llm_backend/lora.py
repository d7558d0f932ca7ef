"""LoRA adapters for llama.cpp: convert a PEFT adapter to a GGUF LoRA, and choose the one to serve.

Conversion runs llama.cpp's own ``convert_lora_to_gguf.py`` from the llama.cpp that
llama-cpp-python pins: the one vendored in its source distribution, which ``llm_backend.server``
also compiles llama-server from, so the adapter file always matches the engine that loads it. The
converter (the script, ``convert_hf_to_gguf.py``, their ``conversion`` package and ``gguf-py``) is
extracted once into a cache keyed by version, ``~/.cache/cited-answers/llama-convert/<version>``;
the sdist itself is kept by ``server.llama_sdist``. It runs as a subprocess of this virtualenv's
Python, offline: it reads the adapter and the base model's ``config.json`` (``--base``), never
base weights, never a model hub.

An exported adapter is a folder with ``adapter.gguf`` and ``manifest.json``: the file's SHA-256,
the SHA-256 of the base GGUF it was trained for, and what produced it (dataset hash, training
configuration, the gate report). Before anything loads an adapter, ``lora_check`` hashes it
against the pinned SHA-256 (a mismatch is an error, like the base model's) and compares the
manifest's base hash with the base that serves: an adapter made for another base would load
without complaint and write nonsense, so it is refused with a log line and the base serves alone.

``lora_select`` reads the LLM_LORA_PATH setting: ``auto`` (the default) serves the adapter shipped
in ``llm_backend/adapters/default`` when the repository has one, ``none`` the base alone, anything
else is the path of a GGUF LoRA (its pin from LLM_LORA_SHA256 or a manifest.json beside it).

    python -m llm_backend.lora convert ADAPTER_DIR --base BASE_HF_DIR [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from llm_backend.base import BackendError
from llm_backend.model_files import file_sha256

logger = logging.getLogger(__name__)

GGUF_NAME = "adapter.gguf"
MANIFEST_NAME = "manifest.json"
# The adapter `make run` serves when the repository ships one (LLM_LORA_PATH=auto).
SHIPPED_DIR = Path(__file__).resolve().parent / "adapters" / "default"
# What the converters need from vendor/llama.cpp (files, and folders ending in "/").
CONVERTER_MEMBERS = ("convert_lora_to_gguf.py", "convert_hf_to_gguf.py", "conversion/", "gguf-py/")
OUTTYPES = ("f32", "f16", "bf16", "q8_0")


class LoraError(BackendError):
    """An adapter cannot be converted or served; the message says what to do about it."""


class SourceUnavailable(LoraError):
    """llama.cpp's converters are not cached and their source cannot be fetched."""


@dataclass(frozen=True)
class LoraFile:
    """A GGUF LoRA adapter and what it is pinned to. ``sha256`` empty: not pinned (the file is
    hashed anyway, for the model id); ``base_sha256`` empty: no base check (a bare file without a
    manifest); ``adapter_id``: what answers record (the registry fingerprint of the PEFT adapter it
    was converted from, when known)."""

    path: Path
    sha256: str = ""
    base_sha256: str = ""
    adapter_id: str = ""

    def as_config(self) -> dict:
        """The llamacpp backend configuration keys (LLM_BACKEND_CONFIG) that load this adapter."""
        return {
            "lora_path": str(self.path),
            "lora_sha256": self.sha256 or None,
            "lora_base_sha256": self.base_sha256 or None,
            "lora_id": self.adapter_id or None,
        }

    def label(self) -> str:
        """``adapter_id``, else the file's stem and hash (for Answer.adapter_id)."""
        return self.adapter_id or f"{self.path.stem}@sha256:{self.sha256[:12]}"


# --- choosing and checking ------------------------------------------------------------------------


def manifest_read(folder: Path) -> LoraFile | None:
    """The adapter an export folder describes; None when it has no manifest.json. Raises
    LoraError when the manifest is unreadable or names no file or hash."""
    manifest = Path(folder) / MANIFEST_NAME
    if not manifest.is_file():
        return None
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        path = Path(folder) / data.get("file", GGUF_NAME)
        sha256 = str(data["sha256"]).lower()
    except (ValueError, KeyError, TypeError) as exc:
        raise LoraError(
            f"{manifest} is not an adapter manifest (needs file and sha256): {exc}"
        ) from exc
    return LoraFile(
        path=path,
        sha256=sha256,
        base_sha256=str(data.get("base_model_sha256") or "").lower(),
        adapter_id=str(data.get("fingerprint") or data.get("adapter_id") or ""),
    )


def manifest_write(folder: Path, lora: LoraFile, **fields: object) -> Path:
    """Write ``folder/manifest.json`` for ``lora`` (which lies in ``folder``) plus ``fields``."""
    data = {
        "file": lora.path.name,
        "sha256": lora.sha256,
        "base_model_sha256": lora.base_sha256,
        "fingerprint": lora.adapter_id,
        **fields,
    }
    target = Path(folder) / MANIFEST_NAME
    tmp = target.with_name(f".{target.name}.partial")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(target)
    return target


def lora_select(
    setting: str | None,
    *,
    sha256: str | None = None,
    base_sha256: str | None = None,
    adapter_id: str | None = None,
    shipped: Path | None = None,
) -> LoraFile | None:
    """The adapter LLM_LORA_PATH (``setting``) names; None: the base serves alone.

    ``auto`` / empty: the shipped adapter when ``shipped`` (default SHIPPED_DIR) holds both
    adapter.gguf and its manifest; ``none``: no adapter; otherwise a GGUF file, pinned by
    ``sha256`` or by the manifest.json beside it (which also gives the base hash and the id).
    """
    value = (setting or "auto").strip()
    if value.lower() == "none":
        return None
    if value.lower() == "auto":
        shipped = shipped or SHIPPED_DIR
        found = manifest_read(shipped) if (shipped / GGUF_NAME).is_file() else None
        return found if found is not None and found.path.is_file() else None
    path = Path(value)
    beside = manifest_read(path.parent) if (path.parent / MANIFEST_NAME).is_file() else None
    if beside is not None and beside.path.resolve() != path.resolve():
        beside = None  # a manifest for another file in the same folder
    return LoraFile(
        path=path,
        sha256=(sha256 or (beside.sha256 if beside else "")).lower(),
        base_sha256=(base_sha256 or (beside.base_sha256 if beside else "")).lower(),
        adapter_id=adapter_id or (beside.adapter_id if beside else ""),
    )


def lora_check(
    lora: LoraFile, *, base_sha256: str, base_name: str = "the base model"
) -> LoraFile | None:
    """Check ``lora`` before anything loads it, against the base that will serve.

    Raises LoraError when the file is missing or is not the pinned file. Returns None, after an
    error log line, when it was made for another base (then the base serves alone). Otherwise the
    adapter with its actual hash.
    """
    if not lora.path.is_file():
        raise LoraError(
            f"the LoRA adapter {lora.path} does not exist; set LLM_LORA_PATH to a GGUF LoRA "
            "(`manage.py finetune export` writes one) or to none for the base model alone"
        )
    actual = file_sha256(lora.path)
    if lora.sha256 and actual != lora.sha256.lower():
        raise LoraError(
            f"{lora.path} has sha256 {actual}, but {lora.sha256} is expected (LLM_LORA_SHA256 or "
            "its manifest.json): the file is not the pinned adapter; export it again "
            "(`manage.py finetune export`) or pin the new hash after checking where it came from"
        )
    if lora.base_sha256 and base_sha256 and lora.base_sha256.lower() != base_sha256.lower():
        logger.error(
            "LoRA adapter %s refused: it was trained for the base model with sha256 %s, but %s "
            "has sha256 %s; the base model serves alone (LLM_LORA_PATH=none silences this)",
            lora.path, lora.base_sha256, base_name, base_sha256,
        )  # fmt: skip
        return None
    return LoraFile(lora.path, actual, lora.base_sha256, lora.adapter_id)


# --- conversion -----------------------------------------------------------------------------------


def converter_dir(*, version: str | None = None, cache_dir: Path | None = None) -> Path:
    """llama.cpp's converters for ``version`` (default: the installed llama-cpp-python),
    extracted once from its sdist into ``cache_dir``. Raises SourceUnavailable when the sdist
    cannot be fetched, LoraError when it does not hold them."""
    from llm_backend import server

    version = version or server.pinned_llama_version()
    root = cache_dir or server.cache_root() / "llama-convert"
    target = root / version
    if (target / "convert_lora_to_gguf.py").is_file():
        return target
    try:
        sdist = server.llama_sdist(version)
    except (subprocess.CalledProcessError, OSError, ValueError) as exc:
        raise SourceUnavailable(
            f"the llama.cpp converter is not cached at {target} and the llama-cpp-python "
            f"{version} source could not be fetched from the package index ({exc}); fetch it "
            "where the index is reachable (`python -m llm_backend.lora fetch`) and copy "
            f"{root} here"
        ) from exc
    prefix = f"llama_cpp_python-{version}/vendor/llama.cpp/"
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".extract-", dir=root) as tmp:
        with tarfile.open(sdist) as archive:
            members = [
                m
                for m in archive.getmembers()
                if any(m.name.startswith(prefix + want) for want in CONVERTER_MEMBERS)
            ]
            archive.extractall(tmp, members=members, filter="data")
        source = Path(tmp) / prefix
        if not (source / "convert_lora_to_gguf.py").is_file():
            raise LoraError(f"{sdist} holds no vendor/llama.cpp/convert_lora_to_gguf.py")
        if not target.exists():  # another process may have finished the same extraction
            source.replace(target)
    return target


def _converter_env() -> dict[str, str]:
    env = dict(os.environ)
    # Offline: the converters would otherwise fetch a base config from the hub by name.
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
    env.pop("NO_LOCAL_GGUF", None)  # the vendored gguf-py, not the installed gguf package
    return env


def _convert(script: str, args: list[str], *, out: Path, source: Path | None) -> Path:
    """Run a llama.cpp converter writing ``out`` atomically (a temporary name, then renamed)."""
    source = source or converter_dir()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".gguf", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        result = subprocess.run(
            [sys.executable, str(source / script), "--outfile", str(tmp), *args],
            env=_converter_env(),
            cwd=source,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-8:])
            raise LoraError(f"llama.cpp's {script} failed (exit {result.returncode}):\n{tail}")
        os.chmod(tmp, 0o644)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def lora_convert(
    adapter_dir: Path,
    *,
    base_dir: Path,
    out: Path | None = None,
    outtype: str = "f32",
    source: Path | None = None,
) -> LoraFile:
    """Convert the PEFT adapter in ``adapter_dir`` to a GGUF LoRA (default
    ``adapter_dir/adapter.gguf``); returns the file and its SHA-256.

    ``base_dir`` is the transformers directory the adapter was trained on: only its config.json
    is read (for fine-tuning, ``training.load_base`` writes it beside the base GGUF). f32 keeps the
    trained weights exactly; an adapter is small next to its base either way.
    """
    adapter_dir, base_dir = Path(adapter_dir), Path(base_dir)
    if not (adapter_dir / "adapter_config.json").is_file():
        raise LoraError(f"{adapter_dir} is not a PEFT adapter directory (no adapter_config.json)")
    if not (base_dir / "config.json").is_file():
        raise LoraError(
            f"the base model directory {base_dir} has no config.json: the converter needs the "
            "transformers config of the model the adapter was trained on (fine-tuning writes it "
            "beside the base GGUF, in hf/<model name>)"
        )
    if outtype not in OUTTYPES:
        raise LoraError(f"unknown outtype {outtype!r}; use one of {', '.join(OUTTYPES)}")
    target = Path(out) if out else adapter_dir / GGUF_NAME
    args = ["--base", str(base_dir), "--outtype", outtype, str(adapter_dir)]
    _convert("convert_lora_to_gguf.py", args, out=target, source=source)
    return LoraFile(path=target, sha256=file_sha256(target))


def base_convert(
    model_dir: Path, *, out: Path, outtype: str = "f32", source: Path | None = None
) -> Path:
    """A transformers model directory as a GGUF model file, by llama.cpp's convert_hf_to_gguf.py
    (for a base that arrives as a transformers directory; Qwen2 models need ``sentencepiece``)."""
    if not (Path(model_dir) / "config.json").is_file():
        raise LoraError(f"{model_dir} is not a transformers model directory (no config.json)")
    args = ["--outtype", outtype, str(model_dir)]
    return _convert("convert_hf_to_gguf.py", args, out=Path(out), source=source)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llm_backend.lora")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="cache llama.cpp's converters (from the llama-cpp-python sdist)")
    c = sub.add_parser("convert", help="a PEFT adapter directory as a GGUF LoRA")
    c.add_argument("adapter", type=Path)
    c.add_argument("--base", type=Path, required=True, help="the base transformers directory")
    c.add_argument("--out", type=Path, default=None, help="default: ADAPTER/adapter.gguf")
    c.add_argument("--outtype", default="f32", choices=OUTTYPES)
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            print(converter_dir())
        else:
            lora = lora_convert(
                args.adapter, base_dir=args.base, out=args.out, outtype=args.outtype
            )
            print(f"{lora.path} sha256={lora.sha256}")
    except LoraError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
