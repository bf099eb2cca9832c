#!/usr/bin/env bash
# `make up`: a working lattice on this machine with its demos.
# Uses the NATS at $FLOE_NATS_URL (default nats://127.0.0.1:4222) when one
# answers, else starts nats-server with JetStream; then starts a floe-host,
# both providers (http-server, keyvalue-nats) and the kv-counter actor with
# its links, so `curl localhost:8080/counter/a` counts in JetStream KV; also
# the echo and counter actors. Prints what to try, and stops everything it
# started on Ctrl-C (the host stops its providers).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=target/release
NATS_URL=${FLOE_NATS_URL:-nats://127.0.0.1:4222}
LATTICE=${FLOE_LATTICE:-default}
HTTP_ADDRESS=${FLOE_HTTP_ADDRESS:-127.0.0.1:8080}
export FLOE_HOME=${FLOE_HOME:-$HOME/.floe}
RUN_DIR=$FLOE_HOME/up
mkdir -p "$RUN_DIR"
pids=()

cleanup() {
    trap - INT TERM EXIT
    echo
    echo "Stopping what make up started..."
    # Newest first: the host stops its providers while NATS is still there.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill -TERM "${pids[i]}" 2>/dev/null || true
        wait "${pids[i]}" 2>/dev/null || true
    done
    echo "Stopped."
}
trap cleanup INT TERM EXIT

hostport=${NATS_URL#nats://}
host=${hostport%%:*}
port=${hostport##*:}
if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
    echo "Using the NATS server at $NATS_URL"
else
    nats=$(command -v nats-server || echo /usr/sbin/nats-server)
    [ -x "$nats" ] || { echo "error: nats-server is not installed; run 'make test' once or 'apt-get install -y nats-server'" >&2; exit 1; }
    echo "Starting nats-server (JetStream) on $host:$port, data in $RUN_DIR/nats"
    "$nats" -js -a "$host" -p "$port" -sd "$RUN_DIR/nats" >"$RUN_DIR/nats.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && break; sleep 0.05; done
fi

echo "Starting floe-host on lattice '$LATTICE' (log: $RUN_DIR/host.log)"
RUST_LOG=${RUST_LOG:-info} "$BIN/floe-host" --nats-url "$NATS_URL" --lattice "$LATTICE" >"$RUN_DIR/host.log" 2>&1 &
pids+=($!)

for _ in $(seq 100); do
    if "$BIN/floe" get hosts --nats-url "$NATS_URL" --lattice "$LATTICE" --window 200ms -o json 2>/dev/null | grep -q host_id; then break; fi
    sleep 0.1
done
floe() { "$BIN/floe" --nats-url "$NATS_URL" --lattice "$LATTICE" "$@"; }
floe start actor target/actors/echo.wasm
floe start actor target/actors/counter.wasm
floe start actor target/actors/kv-counter.wasm
floe start provider "$BIN/keyvalue-nats"
floe start provider "$BIN/http-server"
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

Press Ctrl-C to stop everything make up started.
MSG
wait "${pids[@]}"
