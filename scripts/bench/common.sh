# shellcheck shell=bash
# Shared bash for scripts/bench-ws and scripts/bench-post (sourced, not run).
# Helpers taken from scripts/bench-static (which keeps its own copies):
# logging, cleanup of every process we started on any exit, package
# installation, CPU pinning, port checks, /proc readings, ratios.
#
# The sourcing script sets BENCH_NAME first, then calls bench_traps.

export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C

BENCH_NAME=${BENCH_NAME:-bench}
log() { printf '[%s] %s\n' "$BENCH_NAME" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$BENCH_NAME" "$*" >&2; exit 1; }

# --------------------------------------------------------------------------
# cleanup: every process in PIDS is stopped on any exit path; the temp dir
# is removed unless BENCH_KEEP_TMP=1 or the run failed.
# --------------------------------------------------------------------------
PIDS=()
TMP=""
CLEANUP_HOOKS=() # extra commands (function names) run first at exit

stop_pid() { # pid: TERM, wait up to 5 s, then KILL
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

bench_cleanup() {
    local rc=$? p
    trap - EXIT INT TERM HUP
    for p in "${CLEANUP_HOOKS[@]}"; do "$p" || true; done
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    if [ -n "$TMP" ] && [ -d "$TMP" ]; then
        if [ "${BENCH_KEEP_TMP:-0}" = 1 ] || [ "$rc" != 0 ]; then
            log "temp dir kept: $TMP"
        else
            rm -rf -- "$TMP"
        fi
    fi
    exit "$rc"
}

bench_traps() {
    trap bench_cleanup EXIT
    trap 'log "interrupted"; exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
}

# --------------------------------------------------------------------------
# prerequisites
# --------------------------------------------------------------------------
# ensure_packages cmd:package ...  installs the packages whose command is missing
ensure_packages() {
    local item cmd pkg missing=()
    for item in "$@"; do
        cmd=${item%%:*}
        pkg=${item#*:}
        command -v "$cmd" >/dev/null || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" = 0 ] || die "missing ${missing[*]} and not root; install them first"
    log "installing: ${missing[*]}"
    if ! apt-get install -y -q "${missing[@]}" </dev/null; then
        log "install failed; running apt-get update and retrying"
        apt-get update -q </dev/null
        apt-get install -y -q "${missing[@]}" </dev/null
    fi
}

# first two CPUs we are allowed to run on: the server on the first, the load
# generator on the second (sets SRV_CPU GEN_CPU PIN_SRV PIN_GEN PIN_NOTE)
# shellcheck disable=SC2034
pick_cpus() {
    local list item a b i cpus=()
    list=$(awk '/^Cpus_allowed_list:/ {print $2}' /proc/self/status)
    IFS=, read -ra items <<<"$list"
    for item in "${items[@]}"; do
        if [[ $item == *-* ]]; then a=${item%-*}; b=${item#*-}; else a=$item; b=$item; fi
        for ((i = a; i <= b; i++)); do cpus+=("$i"); done
    done
    if [ ${#cpus[@]} -ge 2 ]; then
        SRV_CPU=${cpus[0]}
        GEN_CPU=${cpus[1]}
        PIN_SRV=(taskset -c "$SRV_CPU")
        PIN_GEN=(taskset -c "$GEN_CPU")
        PIN_NOTE="server on core $SRV_CPU, load generator on core $GEN_CPU"
    else
        log "WARNING: fewer than 2 usable cores (${list:-?}); NOT pinning - server and load generator share the CPU"
        PIN_SRV=()
        PIN_GEN=()
        PIN_NOTE="NOT pinned (1 core)"
    fi
}

# the fd limit servers and generator get: min(want, our hard limit)
fd_limit() { # want
    local hard
    hard=$(ulimit -Hn)
    if [ "$hard" = unlimited ] || [ "$hard" -ge "$1" ]; then echo "$1"; else echo "$hard"; fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port pid name (log: $TMP/name.log)
    local i
    for i in $(seq 100); do
        kill -0 "$2" 2>/dev/null || { tail -20 "$TMP/$3.log" >&2 || true; die "$3 exited during startup (see $TMP/$3.log)"; }
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    die "$3 is not listening on 127.0.0.1:$1 after 10s (see $TMP/$3.log)"
}

# "load average 1.23 0.98 0.50 (2 CPUs)": other work on the machine skews the figures
load_note() { printf 'load average %s (%s CPUs)' "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)"; }

status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || true; }

# --------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------
to_ms() { # wrk latency token (e.g. 812.00us, 1.23ms, 2.01s, 1.5m) -> ms
    awk -v t="$1" 'BEGIN {
        n = t + 0; u = t; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.3f", n }'
}

ratio() { # ours theirs -> "1.23x" or "-"
    [ -n "${1:-}" ] && [ -n "${2:-}" ] && [ "$1" != - ] && [ "$2" != - ] || { echo "-"; return; }
    awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2fx", a / b }'
}

# value of key=value on the last "result ..." line of a file ("" if absent)
result_field() { # file key
    awk -v k="$2" '$1 == "result" { line = $0 } END {
        n = split(line, f, " ")
        for (i = 1; i <= n; i++) if (index(f[i], k "=") == 1) { print substr(f[i], length(k) + 2); exit }
    }' "$1"
}
