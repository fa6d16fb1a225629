# shakedown: the two commands a newcomer needs are `make demo` and `make test`.
CARGO ?= cargo

.PHONY: demo test e2e screenshot lint unit conformance deploy chaostoolkit bench build python

## Run the quickstart experiment against the embedded demo target (passes: nothing acknowledged
## is lost), then measure what write-behind mode loses to kill -9 (passes within its RPO).
## The first build compiles shakedown (about 2 minutes on 2 cores, once): cargo's progress shows.
## The quickstart's report, one HTML page to open in a browser: target/shakedown-report.html.
demo:
	@echo "building shakedown (the first time takes about 2 minutes, once)"
	$(CARGO) build
	$(CARGO) run --quiet -- run experiments/quickstart.yaml --html target/shakedown-report.html
	$(CARGO) run --quiet -- run experiments/write-behind.yaml
	@echo "open target/shakedown-report.html"

## Everything CI checks: formatting, clippy, the test suite, Toxiproxy client conformance, the
## HTML report in headless Chromium (needs Debian's chromium and Node.js; .ci/run installs chromium),
## the pytest plugin built as a wheel and tested in a fresh venv (needs python3 with venv), and the
## Kubernetes manifests (offline schemas) with the Jobs' command lines on loopback, and the Chaos
## Toolkit fixtures validated by Chaos Toolkit itself (python3 and PyPI).
test: lint unit conformance e2e python deploy chaostoolkit

## The HTML report in Debian's headless Chromium (apt-get install chromium): the quickstart's
## report, a 10-minute 1,000 req/s one, a suite and one with <script> in every user string (the
## last three kept by tests/report_html.rs) open with no console error, dialog or network request
## and load in under a second; the screenshot goes to target/e2e/report-screenshot.png (`make
## screenshot` runs the same and replaces docs/report-screenshot.png). The checker must refuse a
## page that leaks (tests/e2e/leaky.html). Then the game-day console (tests/e2e/console.mjs, under a
## minute): `shakedown gameday --experiment experiments/quickstart.yaml` on free ports, a latency
## toxic added through the form raises the load's p50, a note, Clear all, the journal in order, a
## reload, SIGINT leaves nothing listening; no console error or off-origin request;
## target/e2e/console.png.
E2E_PORTS = node -e 'const n=require("net");const p=[];let k=2;for(let i=0;i<2;i++){const s=n.createServer();s.listen(0,"127.0.0.1",()=>{p.push(s.address().port);s.close();if(--k===0)console.log(p.join(" "))})}'
E2E_SCREENSHOT ?= target/e2e/report-screenshot.png
e2e:
	$(CARGO) build --quiet
	$(CARGO) test --quiet --test report_html
	cd tests/e2e && npm ci --no-audit --no-fund --silent
	mkdir -p target/e2e
	set -- $$($(E2E_PORTS)); \
	  $(CARGO) run --quiet -- run experiments/quickstart.yaml --quiet --var port=$$1 --var proxy_port=$$2 \
	    --html target/e2e/quickstart.html; rc=$$?; [ $$rc -le 1 ] || exit $$rc
	! node tests/e2e/report.mjs target/e2e/leaky.png tests/e2e/leaky.html >/dev/null 2>&1
	node tests/e2e/report.mjs $(E2E_SCREENSHOT) target/e2e/quickstart.html \
	  target/tmp/ten-minutes.html target/tmp/suite.html target/tmp/escaped.html
	node tests/e2e/console.mjs target/e2e/console.png $(E2E_CONSOLE_COPY)

## `make e2e`, keeping its screenshots as docs/report-screenshot.png (the picture in docs/report.md)
## and docs/gameday-screenshot.png (docs/gameday.md).
screenshot:
	$(MAKE) e2e E2E_SCREENSHOT=docs/report-screenshot.png E2E_CONSOLE_COPY=docs/gameday-screenshot.png

## Formatting, clippy, and the code's docs (a broken or private intra-doc link fails; about 10 s
## after clippy, which has built what rustdoc needs).
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps

unit:
	$(CARGO) test

conformance:
	bash scripts/conformance.sh

deploy:
	bash scripts/validate-deploy.sh

chaostoolkit:
	bash scripts/chaostoolkit-check.sh

## Benchmarks: proxy overhead vs direct and nginx, load driver vs wrk. Prints ratios.
bench:
	bash scripts/bench-proxy.sh
	bash scripts/bench-load.sh
	bash scripts/bench-http.sh
	bash scripts/bench-http-cost.sh
	bash scripts/bench-agents.sh

build:
	$(CARGO) build --release

## pytest-shakedown: build the wheel (maturin, release), install it in a fresh venv and run the
## plugin's suite and the fast examples against it (scripts/python-tests.sh, docs/pytest.md).
python:
	bash scripts/python-tests.sh
