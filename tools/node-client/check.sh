#!/usr/bin/env bash
# Usage: tools/node-client/check.sh MOCKGSC_BIN [BATCHFETCH_BIN]
# Installs the official Search Console Node client into tools/node-client/node_modules,
# starts mockgsc (requiring a dummy bearer token), pages one day through the client and
# compares the result with /__expected. Exits non-zero on any mismatch or failure.
set -euo pipefail

mockgsc_bin="${1:?usage: $0 MOCKGSC_BIN}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
token="dummy-access-token"

cd "$here"
if [[ -f package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
else
  npm install --no-audit --no-fund --loglevel=error >/dev/null
fi

out="$(mktemp)"
"$mockgsc_bin" --port 0 --token "$token" >"$out" &
mockgsc_pid=$!
trap 'kill "$mockgsc_pid" 2>/dev/null || true; wait "$mockgsc_pid" 2>/dev/null || true; rm -f "$out"' EXIT

for _ in $(seq 100); do
  grep -q '^listening on ' "$out" && break
  sleep 0.1
done
port="$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out")"
[[ -n "$port" ]] || { echo "mockgsc did not start" >&2; exit 1; }

node paginate.js "http://127.0.0.1:$port" "sc-domain:example.com" "$token"
# With batchfetch given: the official client's request and ours must be equivalent.
if [[ -n "${2:-}" ]]; then
  node fidelity.js "http://127.0.0.1:$port" "$2" "$token"
fi
