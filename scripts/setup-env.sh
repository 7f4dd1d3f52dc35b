# Shared set-up for scripts/test, scripts/demo and scripts/bench: source it, then call
# ensure_environment. It installs only what is missing, so a second run costs seconds.
# System packages: libfuse2 (fusepy's library), fuse3 (fusermount), and the tools the tests
# and the demo call (ffmpeg/ffprobe, rsync, curl, attr's getfattr, and rclone plus openssl,
# which the tests and the bench run against the v2 emulator through its loopback TLS front),
# and the editors whose saves tests/mount/test_editors.py runs (vim, nano, and gio from
# libglib2.0-bin). Python packages come from setup.cfg: the test extras include Pillow (the
# optional extra putiofs[thumbnails], which tests/unit/test_thumbnails.py and
# tests/mount/test_thumbnails.py need).

set -euo pipefail

PROJECT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="${PUTIOFS_VENV:-$PROJECT_ROOT/.venv}"

_as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

_apt_updated=0
_apt_install() {
    if [ "$_apt_updated" -eq 0 ]; then
        echo "setup: apt-get update" >&2
        _as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        _apt_updated=1
    fi
    echo "setup: installing $*" >&2
    _as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_system_packages() {
    local missing=()
    ldconfig -p 2>/dev/null | grep -q 'libfuse\.so\.2' || missing+=(libfuse2)
    command -v fusermount >/dev/null 2>&1 || command -v fusermount3 >/dev/null 2>&1 || missing+=(fuse3)
    command -v fusermount3 >/dev/null 2>&1 || missing+=(fuse3)
    command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
    command -v rsync >/dev/null 2>&1 || missing+=(rsync)
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    command -v getfattr >/dev/null 2>&1 || missing+=(attr)
    command -v rclone >/dev/null 2>&1 || missing+=(rclone)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    command -v vim >/dev/null 2>&1 || missing+=(vim)
    command -v nano >/dev/null 2>&1 || missing+=(nano)
    command -v gio >/dev/null 2>&1 || missing+=(libglib2.0-bin)
    if [ "${#missing[@]}" -gt 0 ]; then
        # shellcheck disable=SC2207
        missing=($(printf '%s\n' "${missing[@]}" | sort -u))
        _apt_install "${missing[@]}"
    fi
}

_find_python() {
    local py
    for py in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
        [ -n "$py" ] || continue
        if command -v "$py" >/dev/null 2>&1 &&
            "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$py"
            return 0
        fi
    done
    return 1
}

# What the demo alone needs: fusermount3 and libfuse 3 (the default binding's library).
ensure_demo_system_packages() {
    local missing=()
    command -v fusermount3 >/dev/null 2>&1 || missing+=(fuse3)
    ldconfig -p 2>/dev/null | grep -q 'libfuse3\.so\.3' || missing+=(libfuse3-3)
    if [ "${#missing[@]}" -gt 0 ]; then
        _apt_install "${missing[@]}"
    fi
}

# ensure_venv [EXTRAS]: the venv with putiofs installed (editable) with EXTRAS ("test" for the
# tests and the bench, "" for the demo: only what putiofs itself needs). An install with the
# test extras serves the demo too.
ensure_venv() {
    local extras="${1-test}"
    local py
    if ! py=$(_find_python); then
        _apt_install python3 python3-venv python3-pip
        py=$(_find_python) || { echo "setup: no Python 3.11+ found" >&2; return 1; }
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        echo "setup: creating $VENV with $py" >&2
        if ! "$py" -m venv "$VENV" 2>/dev/null; then
            rm -rf "$VENV"
            _apt_install python3-venv
            "$py" -m venv "$VENV"
        fi
    fi
    local stamp="$VENV/.putiofs-installed" target="$PROJECT_ROOT[test]" what="and its test extras"
    if [ -z "$extras" ]; then
        _stamp_current "$stamp" && return 0
        stamp="$VENV/.putiofs-installed-base" target="$PROJECT_ROOT" what="(no test extras)"
    fi
    if ! _stamp_current "$stamp"; then
        echo "setup: installing putiofs $what into $VENV" >&2
        "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
        "$VENV/bin/python" -m pip install -q -e "$target"
        touch "$stamp"
    fi
}

_stamp_current() {
    [ -f "$1" ] && ! [ "$PROJECT_ROOT/setup.cfg" -nt "$1" ] &&
        ! [ "$PROJECT_ROOT/pyproject.toml" -nt "$1" ]
}

ensure_demo_environment() {
    ensure_demo_system_packages
    ensure_venv ""
    export PATH="$VENV/bin:$PATH"
}

# put.io's JavaScript SDK for tests/emulator/test_v2_js_sdk.py, pinned by its lock file; only
# where node and npm are (the test skips, saying why, elsewhere). Install scripts are not run.
ensure_js_sdk() {
    local js="$PROJECT_ROOT/tests/emulator/js"
    command -v npm >/dev/null 2>&1 || return 0
    if [ ! -d "$js/node_modules/@putdotio/api-client" ] ||
        [ "$js/package-lock.json" -nt "$js/node_modules/.package-lock.json" ]; then
        (cd "$js" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) ||
            echo "setup-env: npm ci in tests/emulator/js failed; the JS SDK test will skip" >&2
    fi
}

ensure_environment() {
    ensure_system_packages
    ensure_venv
    ensure_js_sdk
    export PATH="$VENV/bin:$PATH"
}
