# contactsync — every developer task is a target here. `make` lists them.
#
# Prerequisites on the machine: Go 1.26, Node 20+ (npm), Java 17+.
# Everything else (emulators, Go modules, staticcheck) is fetched by the
# targets themselves into .local/ and the Go module cache.

SHELL        := bash
.SHELLFLAGS  := -eu -o pipefail -c
GO           ?= go
STATICCHECK  := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUNCTIONS    := $(notdir $(wildcard functions/*))
BUILD_DIR    := .build
VERSION      ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
TEST_FLAGS   ?= -race -count=1 -timeout 20m
STACK        := $(GO) run ./localstack/stack

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: stack-up ## start the whole product on the embedded stack and show the demo (DEMO_SIZE, SANDBOX_PORT)
	@eval "$$($(STACK) env)"; $(GO) run ./localstack/sandbox -demo

.PHONY: sandbox
sandbox: stack-up ## the same stack and routes with no demo data; prints "ready <base url>"
	@eval "$$($(STACK) env)"; $(GO) run ./localstack/sandbox

.PHONY: invoke
invoke: stack-up ## run one handler with a sample event: make invoke FN=webhook EVENT=events/webhook/woocommerce-customer-created.json
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo "usage: make invoke FN=<function> EVENT=<events/...json>"; exit 2; }
	@eval "$$($(STACK) env)"; $(GO) run ./localstack/invoke -fn $(FN) -event $(EVENT)

.PHONY: events
events: ## regenerate the signed sample events under events/
	$(GO) run ./localstack/invoke -write-events

.PHONY: test
# pkg/dev/chaos runs after the other packages, not beside them: its Toxiproxy
# proxies reset connections to the shared DynamoDB Local, and while they do
# other test processes' DynamoDB reads fail too ("use of closed network
# connection"; TestInstall_FourPlatformsWithOverlappingPeople failed 3 of 3
# runs beside it, and passes alone).
test: browser ## run every test (unit, integration on the embedded stack, browser, fuzz seeds) with -race
	@was_running=0; $(STACK) status 2>/dev/null && was_running=1; \
	$(STACK) up; \
	eval "$$($(STACK) env)"; \
	status=0; \
	$(GO) test $(TEST_FLAGS) $$($(GO) list ./... | grep -v '/pkg/dev/chaos$$') || status=$$?; \
	$(GO) test $(TEST_FLAGS) ./pkg/dev/chaos/ || status=$$?; \
	if [ -f infra/go.mod ]; then { $(MAKE) --no-print-directory infra-npm && (cd infra && $(GO) test -count=1 -timeout 20m ./...); } || status=$$?; fi; \
	if [ $$was_running = 0 ]; then $(STACK) down; fi; \
	exit $$status

# The browser the console's tests drive: Chromium as the npm package
# @sparticuz/chromium ships it (unpacked by its executablePath() into
# .local/browser/tmp), and axe-core, both pinned in localstack/browser.
BROWSER_DIR := .local/browser
$(BROWSER_DIR)/chromium-path: localstack/browser/package.json localstack/browser/package-lock.json
	@mkdir -p $(BROWSER_DIR)/tmp
	@cp localstack/browser/package.json localstack/browser/package-lock.json $(BROWSER_DIR)/
	cd $(BROWSER_DIR) && npm ci --no-audit --no-fund --loglevel=error
	cd $(BROWSER_DIR) && TMPDIR="$$PWD/tmp" node -e "require('@sparticuz/chromium').default.executablePath().then(p => console.log(p))" > chromium-path.new
	@mv $(BROWSER_DIR)/chromium-path.new $@
	@echo "browser: $$(cat $@)"

.PHONY: browser
browser: ## install the pinned headless Chromium and axe-core the console's browser tests use
	@if [ ! -x "$$(cat $(BROWSER_DIR)/chromium-path 2>/dev/null)" ]; then rm -f $(BROWSER_DIR)/chromium-path; fi
	@$(MAKE) --no-print-directory $(BROWSER_DIR)/chromium-path

.PHONY: lint
lint: ## gofmt, go vet and staticcheck (pinned)
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 20s)
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-20s} $$pkg; \
	  done; \
	done

.PHONY: bench
bench: stack-up ## the pipeline benchmark: one table, also in .local/bench/results.{md,json} (BENCH_SIZE, BENCH_RATES, BENCH_FLAGS)
	@eval "$$($(STACK) env)"; $(GO) run ./localstack/bench $(BENCH_FLAGS)

.PHONY: bench-components
bench-components: stack-up ## every package's go test benchmarks (connectors, merge, store, webhook, ...)
	@eval "$$($(STACK) env)"; $(GO) test -run '^$$' -bench . -benchmem ./...

.PHONY: build
build: $(addprefix $(BUILD_DIR)/,$(addsuffix .zip,$(FUNCTIONS))) ## cross-compile every function to a Lambda zip (linux/arm64, provided.al2023)
	@ls -l $(BUILD_DIR)/*.zip

$(BUILD_DIR)/%.zip: FORCE
	@mkdir -p $(BUILD_DIR)/$*
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath \
	  -ldflags "-s -w -X main.version=$(VERSION)" -o $(BUILD_DIR)/$*/bootstrap ./functions/$*
	@rm -f $@ && cd $(BUILD_DIR)/$* && zip -q -X ../$*.zip bootstrap

.PHONY: FORCE
FORCE:

# The CDK app's targets (synth, diff, deploy, cdklocal) live with it.
-include infra/make.mk

.PHONY: stack-up
stack-up: ## install (first time) and start DynamoDB Local + the SQS emulator, then provision
	@$(STACK) up
	@eval "$$($(STACK) env)"; $(GO) run ./localstack/provision >/dev/null
	@$(STACK) env

.PHONY: stack-down
stack-down: ## stop the emulators that stack-up started
	@$(STACK) down

.PHONY: localstack-up
localstack-up: ## start LocalStack with Docker and provision it (LOCALSTACK_PROVISION=0: start only, for deploy-local)
	docker compose -f localstack/docker-compose.yml up -d --wait
	@if [ "$${LOCALSTACK_PROVISION:-1}" != 0 ]; then AWS_ENDPOINT_URL=http://localhost:4566 $(GO) run ./localstack/provision; fi

.PHONY: localstack-down
localstack-down: ## stop LocalStack
	docker compose -f localstack/docker-compose.yml down

.PHONY: clean
clean: ## remove build output (keeps the installed emulators)
	rm -rf $(BUILD_DIR)
