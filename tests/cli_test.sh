#!/usr/bin/env bash
# The CLI contract: --help everywhere, exit 2 on usage errors, 1 on runtime errors, and no partial
# output file after a failure.
set -u
gt="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
expect() {  # expect CODE command...
  local want=$1; shift
  "$@" >"$tmp/out" 2>&1
  local got=$?
  if [ "$got" != "$want" ]; then
    echo "FAIL: '$*' exited $got, expected $want"; cat "$tmp/out"; fail=1
  fi
}
expect 0 "$gt" --help
expect 0 "$gt" demo --help
expect 0 "$gt" bench --help
expect 0 "$gt" classify --help
expect 0 "$gt" layers --help
expect 0 "$gt" convert --help
expect 0 "$gt" layers --model mobilenet_v1 --alpha 0.25 --size 64
expect 2 "$gt" layers
expect 2 "$gt" classify --image x.png
expect 2 "$gt" layers --model resnet9000
expect 1 "$gt" classify --weights "$tmp/missing.tflite" --image x.png --raw "$tmp/never.h5"
[ -e "$tmp/never.h5" ] && { echo "FAIL: a failed classify left never.h5"; fail=1; }
expect 2 "$gt"
expect 2 "$gt" frobnicate
expect 2 "$gt" demo --no-such-flag
expect 2 "$gt" demo --size
expect 2 "$gt" demo --size abc
expect 2 "$gt" demo --cmap rainbow
expect 2 "$gt" bench
expect 2 "$gt" bench nonsense
expect 1 "$gt" demo --image "$tmp/missing.png" --out "$tmp/never.png"
[ -e "$tmp/never.png" ] && { echo "FAIL: a failed run left $tmp/never.png"; fail=1; }
printf 'not an image' > "$tmp/bad.png"
expect 1 "$gt" demo --image "$tmp/bad.png" --out "$tmp/never2.png"
[ -e "$tmp/never2.png" ] && { echo "FAIL: a failed run left never2.png"; fail=1; }
expect 0 "$gt" demo --size 32 --out "$tmp/ok.png" --raw "$tmp/ok.h5" --threads 1
[ -s "$tmp/ok.png" ] && [ -s "$tmp/ok.h5" ] || { echo "FAIL: demo wrote no output"; fail=1; }
ls "$tmp" | grep -q '\.tmp' && { echo "FAIL: temporary files left behind"; fail=1; }
exit $fail
