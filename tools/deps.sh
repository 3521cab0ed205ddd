#!/usr/bin/env bash
# Installs the Debian packages that gradtrace needs to build and to run its demo (Fashion-MNIST), and
# with --test to test, when they are missing. As root it runs apt-get; otherwise it prints the
# apt-get line to run and fails.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libeigen3-dev libhdf5-dev libstb-dev zlib1g-dev nlohmann-json3-dev libonnx-dev libprotobuf-dev libzip-dev dataset-fashion-mnist libopenmpi-dev openmpi-bin)
[ "${1:-}" = "--test" ] && pkgs+=(catch2 clang-format git chromium libonnx-testdata)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "gradtrace needs these Debian packages; run as root:" >&2
  echo "  apt-get install -y ${missing[*]}" >&2
  exit 1
fi
