#!/usr/bin/env bash
# The folders are the architecture: each layer may include from the layers below it and never from
# one above (../shared/DESIGN.md, "Layers"). Lists every #include "folder/..." that points up and
# exits 1 if there is one. From the bottom:
#   kernels < autodiff < io < nn < image < data < weights < train < xai < render < cli
# examples/, tools/ and tests/ sit above everything. A folder not in the list is an error too, so
# that a new folder gets its place here.
set -euo pipefail
cd "$(dirname "$0")/.."
layers=(kernels autodiff io nn image data weights train xai render cli)
top=(examples tools tests)
rank() {
  local i
  for i in "${!layers[@]}"; do [ "${layers[$i]}" = "$1" ] && { echo "$i"; return; }; done
  for i in "${top[@]}"; do [ "$i" = "$1" ] && { echo 99; return; }; done
  echo -1
}
bad=0 count=0
while IFS= read -r file; do
  from=${file%%/*}
  r_from=$(rank "$from")
  if [ "$r_from" = -1 ]; then echo "$file: folder '$from' has no place in the layer order (tools/check_layers.sh)"; bad=1; continue; fi
  while IFS= read -r inc; do
    to=${inc%%/*}
    r_to=$(rank "$to")
    count=$((count + 1))
    [ "$r_to" = -1 ] && continue  # a third-party header in a subfolder ("Eigen/Dense", "catch2/...")
    if [ "$r_to" -gt "$r_from" ]; then echo "$file includes $inc: $from may not use $to (a higher layer)"; bad=1; fi
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([a-z_0-9]*\/[^"]*\)".*/\1/p' "$file")
done < <(git ls-files '*.h' '*.cpp' '*.cu' '*.cuh' '*.inc' | grep '/')
[ "$bad" = 0 ] && echo "layers: $count includes checked, none points up (${layers[*]})"
exit "$bad"
