#!/usr/bin/env bash
# `make up`: a working lattice on this machine with its demos: `floe up`
# (the NATS at $FLOE_NATS_URL, default nats://127.0.0.1:4222, when one
# answers, else a nats-server with JetStream; then a floe-host), plus both
# providers (http-server, keyvalue-nats) and the kv-counter actor with its
# links, so `curl localhost:8080/counter/a` counts in JetStream KV; also the
# echo and counter actors. Prints what to try; Ctrl-C (or SIGTERM, SIGHUP)
# runs `floe down`.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=target/release
export FLOE_NATS_URL=${FLOE_NATS_URL:-nats://127.0.0.1:4222}
export FLOE_LATTICE=${FLOE_LATTICE:-default}
HTTP_ADDRESS=${FLOE_HTTP_ADDRESS:-127.0.0.1:8080}
export FLOE_HOME=${FLOE_HOME:-$HOME/.floe}
RUN_DIR=$FLOE_HOME/up

"$BIN/floe" up --detach
sleeper=
# Runs once, on Ctrl-C, SIGTERM, SIGHUP (the terminal closed) or any exit;
# a stop asked for by a signal is a clean end (exit 0, so make reports no
# error), a failure keeps its status.
cleanup() {
    local status=$?
    trap - INT TERM HUP EXIT
    [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
    echo
    echo "Stopping what make up started..."
    "$BIN/floe" down || true
    exit "${1:-$status}"
}
trap 'cleanup 0' INT TERM HUP
trap cleanup EXIT

floe() { "$BIN/floe" "$@"; }
floe start actor target/actors/echo.wasm
floe start actor target/actors/counter.wasm
floe start actor target/actors/kv-counter.wasm
# The providers as signed archives in the lattice (make examples packages
# them), so any host could start them.
for provider in keyvalue-nats http-server; do
    # --replace: the archive the tag named before goes (each build signs anew).
    floe push "target/providers/$provider.par.gz" --name "$provider:0.1.0" --replace
    floe start provider "floe://$provider:0.1.0"
done
floe link put counter keyvalue-nats wasi:keyvalue/store,atomics --target-config buckets=counters
floe link put kv-counter keyvalue-nats wasi:keyvalue/store,atomics --target-config buckets=counters
floe link put http-server kv-counter wasi:http/incoming-handler --source-config "address=$HTTP_ADDRESS"

# The provider opens its listener when it sees the link.
listening=
for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/${HTTP_ADDRESS%:*}/${HTTP_ADDRESS##*:}") 2>/dev/null; then listening=1; break; fi
    sleep 0.1
done
if [ -z "$listening" ]; then
    echo "warning: nothing listens on $HTTP_ADDRESS yet; see 'link refused' in $RUN_DIR/host.log" >&2
    echo "         (another process may hold the port: set FLOE_HTTP_ADDRESS=127.0.0.1:PORT)" >&2
fi

cat <<MSG

The lattice is up. Try:

  curl http://$HTTP_ADDRESS/counter/a      # 1, then 2, … (kv-counter, JetStream KV)
  $BIN/floe call echo floe:examples/echo.echo '["hello, floe"]'
  $BIN/floe call echo floe:examples/echo.reverse '[[1, 2, 3]]'
  $BIN/floe call counter floe:examples/counter.increment '["visits"]'   # 1, 2, 3… kept in JetStream KV
  $BIN/floe get inventory

Press Ctrl-C to stop everything make up started (or run \`floe down\`).
MSG
# Wait for Ctrl-C (a trapped signal interrupts `wait` at once).
sleep infinity &
sleeper=$!
wait "$sleeper"
