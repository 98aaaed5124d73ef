#!/usr/bin/env bash
# Start PostgreSQL and an MLflow tracking server on it, both on loopback, for the
# tracking-server test. Source this file, then call start_mlflow_postgres; it exports
# RAGWACHT_TEST_MLFLOW_URI. stop_mlflow_postgres stops both (by process group / pg_ctl).

_rw_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

_rw_as_pg() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_mlflow_postgres() {
  local pgbin venv_bin pg_port ml_port i
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$pgbin" ]; then
    echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2
    return 1
  fi
  venv_bin="${RAGWACHT_VENV:-$PWD/.venv}/bin"
  RW_PG_DIR=$(mktemp -d /tmp/ragwacht-pg.XXXXXX)
  chmod 755 "$RW_PG_DIR"
  [ "$(id -u)" = "0" ] && chown postgres:postgres "$RW_PG_DIR"
  pg_port=$(_rw_free_port)
  _rw_as_pg "$pgbin/initdb" -D "$RW_PG_DIR/data" -A trust -U postgres -E UTF8 >/dev/null
  _rw_as_pg "$pgbin/pg_ctl" -D "$RW_PG_DIR/data" -l "$RW_PG_DIR/postgres.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $RW_PG_DIR" start >/dev/null
  "$pgbin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres mlflow
  RW_PG_BIN=$pgbin
  ml_port=$(_rw_free_port)
  mkdir -p "$RW_PG_DIR/artifacts"
  setsid "$venv_bin/mlflow" server \
    --backend-store-uri "postgresql+psycopg2://postgres@127.0.0.1:$pg_port/mlflow" \
    --artifacts-destination "$RW_PG_DIR/artifacts" \
    --host 127.0.0.1 --port "$ml_port" --workers 1 \
    >"$RW_PG_DIR/mlflow.log" 2>&1 &
  RW_MLFLOW_PID=$!
  for i in $(seq 1 180); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$ml_port/health', timeout=2)" 2>/dev/null; then
      export RAGWACHT_TEST_MLFLOW_URI="http://127.0.0.1:$ml_port"
      echo "MLflow server on PostgreSQL at $RAGWACHT_TEST_MLFLOW_URI (started in ${i}s)"
      return 0
    fi
    if ! kill -0 "$RW_MLFLOW_PID" 2>/dev/null; then break; fi
    sleep 1
  done
  echo "MLflow server did not start; its log:" >&2
  tail -n 40 "$RW_PG_DIR/mlflow.log" >&2
  return 1
}

stop_mlflow_postgres() {
  if [ -n "${RW_MLFLOW_PID:-}" ]; then
    kill -TERM -- "-$RW_MLFLOW_PID" 2>/dev/null || true
    sleep 1
    kill -KILL -- "-$RW_MLFLOW_PID" 2>/dev/null || true
  fi
  if [ -n "${RW_PG_DIR:-}" ] && [ -n "${RW_PG_BIN:-}" ]; then
    _rw_as_pg "$RW_PG_BIN/pg_ctl" -D "$RW_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  [ -n "${RW_PG_DIR:-}" ] && rm -rf "$RW_PG_DIR"
  return 0
}
