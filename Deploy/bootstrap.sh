#!/usr/bin/env bash
# Installs what Conduit needs on a Debian machine that already has the Swift toolchain, when it is missing:
#   libzmq3-dev  libzmq 4.3.4 and zmq.h (Debian), which the CZeroMQ module links against.
# Safe to run again: it installs nothing that is already there.
set -euo pipefail

need_apt=()
dpkg -s libzmq3-dev >/dev/null 2>&1 || need_apt+=(libzmq3-dev)

if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
        echo "bootstrap: need root (or sudo) to install: ${need_apt[*]}" >&2
        exit 1
    fi
    echo "bootstrap: installing ${need_apt[*]} with apt-get" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! command -v swift >/dev/null; then
    echo "bootstrap: the Swift toolchain (6.0 or later) is not on PATH; install it first (swift.org)" >&2
    exit 1
fi
