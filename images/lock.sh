#!/usr/bin/env bash
# Regenerate the images' pinned, hashed lock files from pyproject.toml's extras.
# Needs uv (https://docs.astral.sh/uv/; `pip install uv` into any venv, or UV=/path/to/uv).
# Every wheel targets CPython 3.11 on manylinux x86_64, whatever this machine is.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-uv}
common=(--generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28
        --only-binary :all: --no-header --quiet)
"$UV" pip compile pyproject.toml --extra runtime "${common[@]}" \
  -o images/sextant-runtime/requirements.lock
"$UV" pip compile pyproject.toml --extra operator "${common[@]}" \
  -o images/sextant-operator/requirements.lock
# The CUDA runtime: onnxruntime-gpu (the same `onnxruntime` module) instead of onnxruntime.
"$UV" pip compile pyproject.toml images/sextant-runtime-torch/requirements.in \
  --extra runtime --extra torch --overrides images/sextant-runtime-torch/overrides.txt \
  "${common[@]}" -o images/sextant-runtime-torch/requirements.lock
