#!/usr/bin/env bash
# Fuzzes the running service against its own OpenAPI document with
# Schemathesis: every operation, positive and negative data, and fails when
# a response is a 5xx or does not match the schema the document gives it.
#
# Starts the debug binary on 127.0.0.1 (a free port) with a fresh temporary
# database, a user and an all-permissions token made through the CLI and a
# client on a template imported through the CLI, and stops it again at the
# end (SIGTERM; it must exit 0). Bounded to finish within a few minutes on 2
# cores.
#
# Environment (all optional):
#   SCHEMATHESIS_VENV      where the virtualenv lives (default target/schemathesis-venv)
#   SCHEMATHESIS_CHECKS    checks to run (default not_a_server_error,response_schema_conformance)
#   SCHEMATHESIS_EXAMPLES  max examples per operation (default 40)
#   SCHEMATHESIS_SEED      random seed, for a reproducible run (default 1)
#   SCHEMATHESIS_REPORT    folder for the JUnit and NDJSON reports
#                          (default target/schemathesis-report)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

venv="${SCHEMATHESIS_VENV:-$root/target/schemathesis-venv}"
checks="${SCHEMATHESIS_CHECKS:-not_a_server_error,response_schema_conformance}"
examples="${SCHEMATHESIS_EXAMPLES:-40}"
seed="${SCHEMATHESIS_SEED:-1}"
report="${SCHEMATHESIS_REPORT:-$root/target/schemathesis-report}"

echo "== schemathesis: installing into $venv"
if [ ! -x "$venv/bin/schemathesis" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'schemathesis>=4,<5'
fi
"$venv/bin/schemathesis" --version

echo "== schemathesis: building the binary"
cargo build --quiet --bin onboarding
bin="$root/target/debug/onboarding"

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

db="$work/fuzz.db"
config="$work/onboarding.toml"
: > "$config"
run() { "$bin" --config "$config" --db "$db" "$@"; }

run users add --id fuzzer --name "Schemathesis" > /dev/null
# A template and a client on it, for the pass with pinned ids.
cat > "$work/seed.json" <<'JSON'
{"version": 1,
 "users": [{"id": "fuzzer", "name": "Schemathesis"}],
 "templates": [{"id": "tpl_std", "name": "Standard", "stages": [
   {"id": "s_kickoff", "type": "kickoff", "name": "Kickoff", "milestones": [
     {"id": "m_contract", "name": "Contract signed", "auto_complete": "deal_won"},
     {"id": "m_call", "name": "Kickoff call"}]},
   {"id": "s_empty", "type": "empty", "name": "Nothing here", "milestones": []},
   {"id": "s_launch", "type": "launch", "name": "Launch", "milestones": [
     {"id": "m_live", "name": "Live"}]}]}],
 "clients": [{"id": "acme", "name": "Acme Ltd",
   "onboarding": {"template_id": "tpl_std", "milestones": [
     {"id": "m_contract", "completed_at": "2026-01-02T10:00:00Z", "source": "manual"}]},
   "events": [{"type": "deal_won", "reference": "D-1"}]}]}
JSON
run import "$work/seed.json" > /dev/null
token="$(run tokens create --user fuzzer --permissions '*' --label schemathesis | tail -n 1)"

echo "== schemathesis: starting the server"
RUST_LOG=warn "$bin" --config "$config" --db "$db" serve --listen 127.0.0.1:0 \
    > "$work/stdout" 2> "$work/stderr" &
server_pid=$!
base=""
for _ in $(seq 1 200); do
    base="$(sed -n 's/^listening on //p' "$work/stdout" | head -n 1)"
    [ -n "$base" ] && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "the server did not start:" >&2
        cat "$work/stderr" >&2
        exit 1
    fi
    sleep 0.05
done
if [ -z "$base" ]; then
    echo "the server printed no address" >&2
    exit 1
fi
echo "serving at $base"

# Two passes: ids as generated (mostly unknown ones), then ids pinned to
# the seeded client, milestone and template so requests reach the
# onboarding logic itself.
cat > "$work/pinned.toml" <<'TOML'
[parameters]
companyId = "acme"
milestoneId = "m_call"
id = "tpl_std"
TOML

mkdir -p "$report"
status=0
fuzz() {
    local name="$1"
    shift
    echo "== schemathesis: $name pass on $base/api/openapi.json"
    # Run from the temporary folder: Schemathesis keeps a cache in ./.schemathesis.
    (cd "$work" && "$venv/bin/schemathesis" "$@" run "$base/api/openapi.json" \
        --url "$base" \
        --header "Authorization: Bearer $token" \
        --checks "$checks" \
        --max-examples "$examples" \
        --seed "$seed" \
        --workers 1 \
        --request-timeout 10 \
        --phases examples,coverage,fuzzing \
        --suppress-health-check too_slow,filter_too_much \
        --report junit,ndjson \
        --report-dir "$report/$name") \
        || status=1
}
fuzz generated
fuzz pinned --config-file "$work/pinned.toml"

echo "== schemathesis: stopping the server"
kill -TERM "$server_pid"
for _ in $(seq 1 100); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$server_pid" 2>/dev/null; then
    echo "the server did not stop within 10 s of SIGTERM" >&2
    kill -KILL "$server_pid"
    status=1
fi
server_status=0
wait "$server_pid" || server_status=$?
server_pid=""
if [ "$server_status" -ne 0 ]; then
    echo "the server exited with status $server_status after SIGTERM" >&2
    status=1
fi
if grep -q -i -E 'panicked|internal error' "$work/stderr"; then
    echo "the server logged internal errors:" >&2
    grep -i -E 'panicked|internal error' "$work/stderr" | head -n 20 >&2
    status=1
fi

if [ "$status" -ne 0 ]; then
    echo "schemathesis: FAILED (reports in $report)" >&2
fi
exit "$status"
