#!/usr/bin/env bash
# A real Temporal cluster for the tests: temporal-server at the version the Temporal CLI v1.5.1
# embeds, on the machine's PostgreSQL (persistence and visibility), 4 history shards, Herald's
# recommended dynamic config (src/temporal/dynamic_config.yaml).
#
#   .ci/temporal_server.sh [COMMAND...]
#
# 1. builds temporal-server and temporal-sql-tool into .bin/ from .ci/temporal-server/go.mod,
#    which requires the CLI's module, so every version is the CLI's and its build cache is reused;
# 2. drops and recreates the databases $TEMPORAL_TEST_DB and ${TEMPORAL_TEST_DB}_visibility
#    (herald_temporal...; PGHOST, PGPORT, PGUSER, PGPASSWORD name the PostgreSQL server) and sets
#    up their schema from the files shipped in the server module;
# 3. starts the server on free ports, waits until its frontend answers, creates the namespace;
# 4. runs COMMAND with TEST_TEMPORAL_ADDRESS set (without one, serves until Ctrl+C);
# 5. stops the server and drops the databases, whatever happened.
# Any step that fails ends the script non-zero, naming the step (and the server's last log lines).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="/usr/local/go/bin:$PATH"

: "${PGHOST:=127.0.0.1}" "${PGPORT:=5432}" "${PGUSER:=postgres}" "${PGPASSWORD:=}"
export PGHOST PGPORT PGUSER PGPASSWORD
: "${TEMPORAL_TEST_DB:=herald_temporal}"
namespace=default
retention=720h # 30 days, Herald's RETENTION: a payload's workflow stays as long as its record

cli=$(command -v "$root/.bin/temporal" || command -v temporal || true)
server_bin="$root/.bin/temporal-server"
sql_tool="$root/.bin/temporal-sql-tool"
run_dir=$(mktemp -d -t herald-temporal-XXXXXX)
log="$run_dir/server.log"
server_pid=""
databases=("$TEMPORAL_TEST_DB" "${TEMPORAL_TEST_DB}_visibility")

say() { echo "temporal-server: $*"; }
fail() {
  echo "temporal-server: FAILED: $*" >&2
  if [ -s "$log" ]; then
    echo "temporal-server: the last lines of its log ($log):" >&2
    tail -n 30 "$log" >&2
  fi
  exit 1
}
elapsed() { echo "$(( $(date +%s) - $1 )) s"; }

drop_databases() {
  for db in "${databases[@]}"; do
    PGOPTIONS="-c client_min_messages=warning" psql -q -v ON_ERROR_STOP=1 -d postgres \
      -c "drop database if exists \"$db\" with (force)"
  done
}

teardown() {
  local rc=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  drop_databases 2>/dev/null || echo "temporal-server: could not drop ${databases[*]}" >&2
  rm -rf "$run_dir"
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -n "$cli" ] || fail "no Temporal CLI in .bin/ or on the PATH (.ci/run builds it first)"

# 1. Build. `go build` of the packages the tool lines name, at the versions go.sum pins.
started=$(date +%s)
(
  cd .ci/temporal-server
  go build -o "$server_bin" go.temporal.io/server/cmd/server
  go build -o "$sql_tool" go.temporal.io/server/cmd/tools/sql
) || fail "building temporal-server"
server_module=$(cd .ci/temporal-server && go list -m -f '{{.Dir}}' go.temporal.io/server)
server_version=$(cd .ci/temporal-server && go list -m -f '{{.Version}}' go.temporal.io/server)
say "built $server_version in $(elapsed "$started")"
# The server only warns about keys it does not know (a typo would silently change nothing).
dynamic_config="$root/src/temporal/dynamic_config.yaml"
check=$("$server_bin" validate-dynamic-config "$dynamic_config" 2>&1) ||
  fail "validating $dynamic_config: $check"
if grep -qiE "warning|error" <<<"$check"; then
  echo "$check" >&2
  fail "$dynamic_config has keys or values this server does not know"
fi

# 2. Schema, in fresh databases.
started=$(date +%s)
pg_isready -q || fail "no PostgreSQL answers at $PGHOST:$PGPORT"
drop_databases || fail "dropping ${databases[*]}"
schema_dirs=(temporal visibility)
for i in 0 1; do
  db=${databases[$i]}
  dir="$server_module/schema/postgresql/v12/${schema_dirs[$i]}/versioned"
  sql=("$sql_tool" --plugin postgres12 --endpoint "$PGHOST" --port "$PGPORT" --user "$PGUSER"
    --password "$PGPASSWORD" --database "$db")
  {
    "${sql[@]}" create-database &&
      "${sql[@]}" setup-schema -v 0.0 &&
      "${sql[@]}" update-schema -d "$dir"
  } >>"$run_dir/schema.log" 2>&1 || { cat "$run_dir/schema.log" >&2; fail "the schema of $db"; }
done
say "schema set up in ${databases[*]} in $(elapsed "$started")"

# 3. Start: every service in one process, each on a port nobody listens on.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null &&
      [[ " ${ports[*]:-} " != *" $port "* ]]; then
      echo "$port"
      return
    fi
  done
}
ports=()
for _ in $(seq 1 9); do ports+=("$(free_port)"); done
frontend=${ports[0]}
address="127.0.0.1:$frontend"
datastore() {
  cat <<EOF
      sql:
        pluginName: postgres12
        databaseName: $1
        connectAddr: "$PGHOST:$PGPORT"
        connectProtocol: tcp
        user: "$PGUSER"
        password: "$PGPASSWORD"
        maxConns: $2
        maxIdleConns: $2
        maxConnLifetime: 1h
EOF
}
service() {
  cat <<EOF
  $1:
    rpc:
      grpcPort: $2
      membershipPort: $3
      bindOnLocalHost: true
EOF
}
mkdir -p "$run_dir/config"
{
  cat <<EOF
log:
  stdout: true
  level: warn
persistence:
  numHistoryShards: 4
  defaultStore: default
  visibilityStore: visibility
  datastores:
    default:
$(datastore "${databases[0]}" 20)
    visibility:
$(datastore "${databases[1]}" 10)
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
services:
$(service frontend "$frontend" "${ports[1]}")
      httpPort: ${ports[2]}
$(service history "${ports[3]}" "${ports[4]}")
$(service matching "${ports[5]}" "${ports[6]}")
$(service worker "${ports[7]}" "${ports[8]}")
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "$address"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: "$dynamic_config"
  pollInterval: 10s
EOF
} >"$run_dir/config/herald.yaml"

started=$(date +%s)
"$server_bin" --root "$run_dir" --config config --env herald --allow-no-auth start \
  >"$log" 2>&1 &
server_pid=$!
until "$cli" operator cluster health --address "$address" 2>/dev/null | grep -q SERVING; do
  kill -0 "$server_pid" 2>/dev/null || fail "the server exited while starting"
  [ $(( $(date +%s) - started )) -lt 90 ] || fail "the frontend did not answer within 90 s"
  sleep 0.5
done
"$cli" operator namespace create --address "$address" --retention "$retention" -n "$namespace" \
  >/dev/null || fail "creating the namespace $namespace"
# Each service learns of a new namespace from its namespace cache (refreshed every 2 s).
until "$cli" workflow count --address "$address" --namespace "$namespace" >/dev/null 2>&1; do
  [ $(( $(date +%s) - started )) -lt 120 ] || fail "the namespace $namespace never became usable"
  sleep 0.5
done
say "serving $address (namespace $namespace, 4 history shards, PostgreSQL) in $(elapsed "$started")"

# 4. The command, or serve until stopped.
export TEST_TEMPORAL_ADDRESS="$address"
if [ $# -eq 0 ]; then
  say "TEST_TEMPORAL_ADDRESS=$address; Ctrl+C stops it"
  wait "$server_pid" || fail "the server exited"
else
  set +e
  "$@"
  rc=$?
  set -e
  kill -0 "$server_pid" 2>/dev/null || fail "the server died while the command ran"
  exit "$rc"
fi
