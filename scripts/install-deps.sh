#!/usr/bin/env bash
# Installs what xvs needs to build, test, benchmark and demo on Debian 12,
# skipping what is already there. Safe to run repeatedly.
#
#   build:  clang libelf-dev m4 libpcap-dev pkg-config (xsk-rs builds libxdp/libbpf)
#   tests:  iproute2 ethtool iputils-ping tcpdump tshark iperf3 python3-scapy
#   bench:  valgrind (instructions per packet), netsniff-ng (trafgen baseline)
set -euo pipefail

PACKAGES=(clang llvm libelf-dev m4 libpcap-dev pkg-config zlib1g-dev
          iproute2 ethtool iputils-ping tcpdump tshark iperf3 python3-scapy
          valgrind procps)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
    echo "install-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # tshark asks whether non-root users may capture; answer no, unattended.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "install-deps: all packages present"
fi

if ! command -v cargo >/dev/null; then
    echo "install-deps: cargo not found; install Rust (rustup) first" >&2
    exit 1
fi
