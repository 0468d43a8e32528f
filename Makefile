# Small entry points; the work lives in hack/ and in the `sextant` command.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint unit integration e2e fmt clean crds images images-torch bench-runtime bench-http-stacks bench-operator

setup:  ## Debian packages, .venv with every extra, local tools (idempotent)
	@bash hack/setup.sh

demo: setup  ## Sextant's main job on local defaults
	$(BIN)/sextant demo

test: setup lint  ## Everything CI runs: linters, then every test tier
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest tests/unit

integration: setup
	$(BIN)/pytest tests/integration

e2e: setup
	$(BIN)/pytest tests/e2e

crds: setup  ## Regenerate crds/*.yaml from the API models in operator/sextant_operator/api
	$(BIN)/sextant crds

fmt: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

images: setup  ## Runtime, operator and pause images as OCI archives (images/README.md)
	$(BIN)/sextant images build

images-torch: setup  ## Also the CUDA runtime with torch (several GB; not in CI)
	$(BIN)/sextant images build --torch

bench-runtime: setup  ## Runtime throughput/latency vs the in-process onnxruntime ceiling (bench/README.md)
	$(BIN)/python -m bench.runtime

bench-http-stacks: setup  ## The same runtime app under granian (RSGI, ASGI) and uvicorn
	$(BIN)/python -m bench.http_stacks

bench-operator: setup  ## kubectl apply to Ready, 1 and 200 ModelDeployments, vs a plain Deployment
	$(BIN)/python -m bench.operator_ready
