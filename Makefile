# Floe's developer loop. `make test` works on a fresh machine with only Rust
# installed: it installs nats-server, the wasm32-wasip2 target, rustfmt,
# clippy, cargo-nextest, a Python virtualenv (nats-py, msgpack for the
# Python example provider; componentize-py for Python actors) and
# componentize-js (npm, for JavaScript actors) when they are missing, then
# lints, builds the example actors, signs them, and runs every test.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
TARGET_DIR := $(CURDIR)/target
# One profile for tests, binaries and benchmarks: every dependency builds once.
PROFILE := release
BIN := $(TARGET_DIR)/$(PROFILE)
GUEST_TARGET_DIR := $(TARGET_DIR)/guest
ACTORS_OUT := $(TARGET_DIR)/actors
PROVIDERS_OUT := $(TARGET_DIR)/providers
# Example providers packaged as signed archives (a binary for this machine's target).
PROVIDERS := http-server keyvalue-nats
IMPLEMENTS_http-server :=
IMPLEMENTS_keyvalue-nats := wasi:keyvalue/store wasi:keyvalue/atomics wasi:keyvalue/batch
# Example actors are signed by a development issuer kept inside target/, so a
# developer's own ~/.floe is never touched by the build.
EXAMPLES_HOME := $(TARGET_DIR)/examples-home
# A virtualenv for the Python example provider (examples/providers/python-greeter).
PYENV := $(TARGET_DIR)/pyenv
# The guest toolchains of `floe new --lang python|js`, pinned (docs/writing-actors.md).
COMPONENTIZE_PY := 0.25.1
COMPONENTIZE_JS := 0.23.0
JSENV := $(TARGET_DIR)/jsenv
EXAMPLES_ISSUER := examples-issuer
ACTORS := echo misbehave misbehave-p3 greeter greeter-async front settings counter http-hello http-hello-p3 kv-counter
# Capabilities each example actor claims (empty for none).
CAPS_echo :=
CAPS_misbehave :=
CAPS_misbehave-p3 :=
CAPS_greeter :=
CAPS_greeter-async := wasi:keyvalue
CAPS_front := acme:greet/greeter
CAPS_settings :=
CAPS_counter := wasi:keyvalue
CAPS_http-hello :=
CAPS_http-hello-p3 :=
CAPS_kv-counter := wasi:keyvalue

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all test deps lint build examples up bench clean help

all: build

help:
	@echo "make up        start a local lattice (nats-server, a host, both providers, kv-counter on :8080)"
	@echo "make test      install what is missing, lint, build, sign examples, run all tests"
	@echo "make examples  build and sign the example actors into target/actors, package the demo providers into target/providers"
	@echo "make build     build floe and floe-host"
	@echo "make lint      cargo fmt --check and clippy with warnings denied"
	@echo "make bench     benchmark report (Floe vs raw NATS, HTTP vs plain hyper), see docs/benchmarks.md"

## deps: install what the build and the tests need, only when missing.
deps:
	@if ! command -v nats-server >/dev/null && [ ! -x /usr/sbin/nats-server ]; then \
		echo "==> installing nats-server (Debian package)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nats-server; \
	fi
	@if ! rustup target list --installed | grep -qx wasm32-wasip2; then \
		echo "==> adding the wasm32-wasip2 target"; rustup target add wasm32-wasip2; \
	fi
	@for c in rustfmt clippy; do \
		if ! rustup component list --installed | grep -q "^$$c"; then rustup component add $$c; fi; \
	done
	@if ! $(CARGO) nextest --version >/dev/null 2>&1; then \
		echo "==> installing cargo-nextest"; $(CARGO) install cargo-nextest --locked; \
	fi
	@if ! $(PYENV)/bin/python -c 'import nats, msgpack' >/dev/null 2>&1; then \
		echo "==> preparing $(PYENV) (nats-py, msgpack) for the Python example provider"; \
		python3 -m venv $(PYENV) && $(PYENV)/bin/pip install -q nats-py==2.16.0 msgpack==1.2.4; \
	fi
	@if ! $(PYENV)/bin/componentize-py --version 2>/dev/null | grep -q "$(COMPONENTIZE_PY)"; then \
		echo "==> installing componentize-py $(COMPONENTIZE_PY) into $(PYENV) (Python actors)"; \
		$(PYENV)/bin/pip install -q componentize-py==$(COMPONENTIZE_PY); \
	fi
	@if ! command -v npm >/dev/null; then \
		echo "==> installing Node.js and npm (Debian packages) for JavaScript actors"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nodejs npm; \
	fi
	@if ! grep -qs '"version": "$(COMPONENTIZE_JS)"' $(JSENV)/node_modules/@bytecodealliance/componentize-js/package.json; then \
		echo "==> installing componentize-js $(COMPONENTIZE_JS) into $(JSENV) (JavaScript actors)"; \
		mkdir -p $(JSENV) && npm install -s --no-audit --no-fund --save-exact --prefix $(JSENV) @bytecodealliance/componentize-js@$(COMPONENTIZE_JS); \
	fi

lint: deps
	$(CARGO) fmt --all --check
	cd examples/actors && $(CARGO) fmt --all --check
	$(CARGO) clippy --$(PROFILE) --workspace --all-targets -- -D warnings

build: deps
	$(CARGO) build --$(PROFILE) --workspace --bins

## examples: build every guest actor for wasm32-wasip2 and sign it.
examples: build
	cd examples/actors && $(CARGO) build --release --target wasm32-wasip2 --target-dir $(GUEST_TARGET_DIR)
	@mkdir -p $(ACTORS_OUT)
	@if [ ! -f $(EXAMPLES_HOME)/keys/$(EXAMPLES_ISSUER).nk ]; then \
		FLOE_HOME=$(EXAMPLES_HOME) $(BIN)/floe keys gen --type account --save $(EXAMPLES_ISSUER) >/dev/null; \
	fi
	@# cargo names a crate's output with `_` for `-` (http-hello -> http_hello.wasm).
	@$(foreach a,$(ACTORS),\
		FLOE_HOME=$(EXAMPLES_HOME) $(BIN)/floe claims sign \
			$(GUEST_TARGET_DIR)/wasm32-wasip2/release/$(subst -,_,$(a)).wasm \
			--issuer $(EXAMPLES_ISSUER) --name $(a) --version 0.1.0 --revision 1 \
			$(foreach c,$(CAPS_$(a)),--cap $(c)) \
			--destination $(ACTORS_OUT)/$(a).wasm -o json >/dev/null && \
		echo "signed $(ACTORS_OUT)/$(a).wasm" ;)
	@# echo-next: the same actor (same id) built with `--features next`, for update tests.
	cd examples/actors && $(CARGO) build --release --target wasm32-wasip2 --target-dir $(GUEST_TARGET_DIR)/next -p echo --features next
	@FLOE_HOME=$(EXAMPLES_HOME) $(BIN)/floe claims sign $(GUEST_TARGET_DIR)/next/wasm32-wasip2/release/echo.wasm \
		--issuer $(EXAMPLES_ISSUER) --name echo --version 0.2.0 --revision 2 --subject echo-actor \
		--destination $(ACTORS_OUT)/echo-next.wasm -o json >/dev/null && echo "signed $(ACTORS_OUT)/echo-next.wasm"
	@# front-next: the same front actor built with `--features next` (other
	@# code importing the same routed interface), and front-other: that code as
	@# a second actor, for tests of linked actors updated and side by side.
	cd examples/actors && $(CARGO) build --release --target wasm32-wasip2 --target-dir $(GUEST_TARGET_DIR)/next -p front --features next
	@FLOE_HOME=$(EXAMPLES_HOME) $(BIN)/floe claims sign $(GUEST_TARGET_DIR)/next/wasm32-wasip2/release/front.wasm \
		--issuer $(EXAMPLES_ISSUER) --name front --version 0.2.0 --revision 2 --subject front-actor --cap acme:greet/greeter \
		--destination $(ACTORS_OUT)/front-next.wasm -o json >/dev/null && echo "signed $(ACTORS_OUT)/front-next.wasm"
	@if [ ! -f $(EXAMPLES_HOME)/keys/front-other-actor.nk ]; then \
		FLOE_HOME=$(EXAMPLES_HOME) $(BIN)/floe keys gen --type actor --save front-other-actor >/dev/null; \
	fi
	@FLOE_HOME=$(EXAMPLES_HOME) $(BIN)/floe claims sign $(GUEST_TARGET_DIR)/next/wasm32-wasip2/release/front.wasm \
		--issuer $(EXAMPLES_ISSUER) --name front-other --version 0.1.0 --revision 1 --subject front-other-actor --cap acme:greet/greeter \
		--destination $(ACTORS_OUT)/front-other.wasm -o json >/dev/null && echo "signed $(ACTORS_OUT)/front-other.wasm"
	@# http-fetch: the same http-hello component as another actor that also claims
	@# wasi:http/outgoing-handler, so tests see outgoing HTTP denied and allowed.
	@if [ ! -f $(EXAMPLES_HOME)/keys/http-fetch-actor.nk ]; then \
		FLOE_HOME=$(EXAMPLES_HOME) $(BIN)/floe keys gen --type actor --save http-fetch-actor >/dev/null; \
	fi
	@FLOE_HOME=$(EXAMPLES_HOME) $(BIN)/floe claims sign $(GUEST_TARGET_DIR)/wasm32-wasip2/release/http_hello.wasm \
		--issuer $(EXAMPLES_ISSUER) --name http-fetch --version 0.1.0 --revision 1 --subject http-fetch-actor \
		--cap wasi:http/outgoing-handler \
		--destination $(ACTORS_OUT)/http-fetch.wasm -o json >/dev/null && echo "signed $(ACTORS_OUT)/http-fetch.wasm"
	@# The demo's providers as signed archives, with the binary for this machine.
	@mkdir -p $(PROVIDERS_OUT)
	@triple=$$(rustc -vV | sed -n 's/^host: //p'); \
	$(foreach p,$(PROVIDERS),\
		FLOE_HOME=$(EXAMPLES_HOME) $(BIN)/floe provider package \
			--issuer $(EXAMPLES_ISSUER) --name $(p) --version 0.1.0 --revision 1 \
			$(foreach i,$(IMPLEMENTS_$(p)),--implements $(i)) \
			--binary $$triple=$(BIN)/$(p) \
			--destination $(PROVIDERS_OUT)/$(p).par.gz -o json >/dev/null && \
		echo "packaged $(PROVIDERS_OUT)/$(p).par.gz ($$triple)" ;)

## test: everything, from a fresh clone.
test: lint examples
	$(CARGO) nextest run --$(PROFILE) --workspace --no-fail-fast
	$(CARGO) test --$(PROFILE) --workspace --doc

## bench: Floe against raw NATS on one nats-server, and HTTP through a
## provider against plain hyper under wrk (not part of `make test`).
bench: examples
	@if ! command -v wrk >/dev/null; then \
		echo "==> installing wrk (Debian package) for the HTTP figures"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk; \
	fi
	$(BIN)/floe-bench | tee $(TARGET_DIR)/bench-report.md.stdout

## up: a local lattice serving the kv-counter demo on :8080; Ctrl-C stops it.
up: examples
	scripts/up.sh

clean:
	$(CARGO) clean
