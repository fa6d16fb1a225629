# shakedown: the two commands a newcomer needs are `make demo` and `make test`.
CARGO ?= cargo

.PHONY: demo test lint unit conformance deploy bench build

## Run the quickstart experiment against the embedded demo target (passes: nothing acknowledged
## is lost), then measure what write-behind mode loses to kill -9 (passes within its RPO).
## The first build compiles shakedown (about 2 minutes on 2 cores, once): cargo's progress shows.
demo:
	@echo "building shakedown (the first time takes about 2 minutes, once)"
	$(CARGO) build
	$(CARGO) run --quiet -- run experiments/quickstart.yaml
	$(CARGO) run --quiet -- run experiments/write-behind.yaml

## Everything CI checks: formatting, clippy, the test suite, Toxiproxy client conformance,
## the Kubernetes manifests (offline schemas) and the Jobs' command lines on loopback.
test: lint unit conformance deploy

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

unit:
	$(CARGO) test

conformance:
	bash scripts/conformance.sh

deploy:
	bash scripts/validate-deploy.sh

## Benchmarks: proxy overhead vs direct and nginx, load driver vs wrk. Prints ratios.
bench:
	bash scripts/bench-proxy.sh
	bash scripts/bench-load.sh

build:
	$(CARGO) build --release
