# Shared helpers for the bench scripts.

# ensure_debs CMD PKG… : install Debian packages when CMD is missing, without
# starting their services (policy-rc.d), and say so when it cannot be done.
ensure_debs() {
    local cmd=$1; shift
    command -v "$cmd" >/dev/null 2>&1 && return 0
    command -v apt-get >/dev/null 2>&1 || return 1
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
    echo "installing $* from Debian's packages" >&2
    local policy=/usr/sbin/policy-rc.d created=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && created=1
    fi
    $sudo apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null 2>&1
    local rc=$?
    [ -n "$created" ] && $sudo rm -f "$policy"
    return $rc
}
