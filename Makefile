# shakedown: the two commands a newcomer needs are `make demo` and `make test`.
CARGO ?= cargo

.PHONY: demo test lint unit conformance bench build python

## Run the quickstart experiment against the embedded demo target (passes: nothing acknowledged
## is lost), then measure what write-behind mode loses to kill -9 (passes within its RPO).
## The first build compiles shakedown (about 2 minutes on 2 cores, once): cargo's progress shows.
demo:
	@echo "building shakedown (the first time takes about 2 minutes, once)"
	$(CARGO) build
	$(CARGO) run --quiet -- run experiments/quickstart.yaml
	$(CARGO) run --quiet -- run experiments/write-behind.yaml

## Everything CI checks: formatting, clippy, the test suite, Toxiproxy client conformance.
test: lint unit conformance

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

unit:
	$(CARGO) test

conformance:
	bash scripts/conformance.sh

## Benchmarks: proxy overhead vs direct and nginx, load driver vs wrk. Prints ratios.
bench:
	bash scripts/bench-proxy.sh
	bash scripts/bench-load.sh

build:
	$(CARGO) build --release

## pytest-shakedown: build the wheel (maturin, release), install it in a fresh venv and run the
## plugin's suite and the fast examples against it (scripts/python-tests.sh, docs/pytest.md).
python:
	bash scripts/python-tests.sh
