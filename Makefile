# The two commands of the README. Each sets up .venv on first use (PyTorch CPU first, then the
# project) and is a no-op set-up afterwards.
.PHONY: run test lint setup system-packages mlflow-ui

setup:
	@bash scripts/setup.sh

system-packages:
	@bash scripts/system-packages.sh

run: setup
	.venv/bin/exolab run --suite scenarios/smoke.yaml

test: setup system-packages
	.venv/bin/ruff check lab tests benchmarks
	.venv/bin/mypy
	.venv/bin/python -m pytest -q

lint: setup
	.venv/bin/ruff check lab tests benchmarks
	.venv/bin/mypy

mlflow-ui: setup
	.venv/bin/mlflow ui --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1 --port 5000
