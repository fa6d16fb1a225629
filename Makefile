# shakedown: the two commands a newcomer needs are `make demo` and `make test`.
CARGO ?= cargo

.PHONY: demo test lint unit conformance chaostoolkit bench build

## Run the quickstart experiment against the embedded demo target (passes: nothing acknowledged
## is lost), then measure what write-behind mode loses to kill -9 (passes within its RPO).
## The first build compiles shakedown (about 2 minutes on 2 cores, once): cargo's progress shows.
demo:
	@echo "building shakedown (the first time takes about 2 minutes, once)"
	$(CARGO) build
	$(CARGO) run --quiet -- run experiments/quickstart.yaml
	$(CARGO) run --quiet -- run experiments/write-behind.yaml

## Everything CI checks: formatting, clippy, the test suite, Toxiproxy client conformance, the
## Chaos Toolkit fixtures validated by Chaos Toolkit itself.
test: lint unit conformance chaostoolkit

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

unit:
	$(CARGO) test

conformance:
	bash scripts/conformance.sh

chaostoolkit:
	bash scripts/chaostoolkit-check.sh

## Benchmarks: proxy overhead vs direct and nginx, load driver vs wrk. Prints ratios.
bench:
	bash scripts/bench-proxy.sh
	bash scripts/bench-load.sh

build:
	$(CARGO) build --release
