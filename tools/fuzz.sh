#!/usr/bin/env bash
# Fuzzes gradtrace's file parsers with libFuzzer under ASan + UBSan (tests/fuzz/README.md).
#   tools/fuzz.sh [MAX_SECONDS] [TARGETS]     defaults: 1800 s, every target
# Each target runs until 1,000,000 executions or MAX_SECONDS, whichever comes first, seeded with real
# files (../shared/data when present, the test fixtures, small files made here). A crash, leak or
# sanitizer report stops it; the input is left in build-fuzz/crashes/<target>/: fix the bug, then
# commit that file to tests/corpus/<target>/ (ctest's `corpus` test runs it from then on).
# Needs clang and libclang-rt-14-dev (Debian); python3 with PIL and numpy for the seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-1800} targets=${2:-tflite,weights_h5,keras_h5,input_h5,weights_snap,keras_snap,input_snap,image,idx,onnx,keras_config,keras_zip,csv}
if ! command -v clang++ >/dev/null; then
  [ "$(id -u)" -eq 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev libomp-dev >/dev/null ||
    { echo "fuzz.sh needs clang: apt-get install clang libclang-rt-14-dev libomp-dev"; exit 1; }
fi
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGRADTRACE_FUZZ=ON \
  -DGRADTRACE_PORTABLE=ON -DGRADTRACE_CUDA=OFF -DBUILD_TESTING=ON >/dev/null
IFS=, read -ra list <<<"$targets"
cmake --build build-fuzz -j"$(nproc)" --target "${list[@]/#/fuzz_}"

seeds=build-fuzz/seeds shared=../shared/data
mkdir -p "$seeds"/{tflite,weights_h5,keras_h5,input_h5,weights_snap,keras_snap,input_snap,image,idx,onnx,keras_config,keras_zip,csv}
for t in "${list[@]}"; do rm -rf "${seeds:?}/$t"/*; done  # only these: another fuzz.sh may be running the others
cp tests/fixtures/*.tflite "$seeds/tflite/"
cp tests/fixtures/*.onnx tests/corpus/onnx/* "$seeds/onnx/"
cp tests/fixtures/*.keras tests/corpus/keras_zip/* "$seeds/keras_zip/"
cp tests/corpus/keras_config/* "$seeds/keras_config/"
cp tests/corpus/csv/* "$seeds/csv/"
printf '\xef\xbb\xbfname;"note, quoted";x\r\n"a ""b""";"line\nbreak"; 1.5\r\n;NA;?\r\n' >"$seeds/csv/quoted_bom.csv"
printf 'a\tb\tc\n1\t\t3\n' >"$seeds/csv/tabs.csv"
/usr/bin/python3 - "$seeds/keras_config" tests/fixtures/*.keras tests/fixtures/keras_student_cnn.h5 <<'PY'
import os, sys, zipfile
import h5py
for i, f in enumerate(sys.argv[2:]):
    text = zipfile.ZipFile(f).read("config.json") if f.endswith(".keras") else h5py.File(f).attrs["model_config"]
    open(os.path.join(sys.argv[1], "config_%d.json" % i), "wb").write(text if isinstance(text, bytes) else text.encode())
PY
# the conformance suite's small graphs: every op gradtrace runs, in many configurations
for d in /usr/include/onnx/backend/test/data/node/test_{conv,maxpool,averagepool,gemm,reshape,concat,softmax,pad,batchnorm}*; do
  [ -f "$d/model.onnx" ] && cp "$d/model.onnx" "$seeds/onnx/$(basename "$d").onnx"
done
cp tests/corpus/*/*.tflite "$seeds/tflite/" 2>/dev/null || true
cp weights/fashion_cnn.h5 tests/fixtures/torch_*_narrow.h5 tests/fixtures/table_mlp_*.h5 "$seeds/weights_h5/"
cp tests/fixtures/keras_*.h5 "$seeds/keras_h5/"
cp tests/fixtures/course_vgg16.h5 "$seeds/input_h5/"
for d in weights_h5 keras_h5 input_h5; do
  cp tests/corpus/$d/* "$seeds/$d/" 2>/dev/null || true
  # The *_snap targets start from the same files as snapshots (those libhdf5 can read).
  if [[ ",$targets," == *",${d%_h5}_snap,"* ]]; then
    cmake --build build-fuzz --target gradtrace_corpus >/dev/null
    for f in "$seeds/$d"/*; do build-fuzz/tests/gradtrace_corpus --snapshot "$f" "$seeds/${d%_h5}_snap/$(basename "$f").snap" 2>/dev/null || true; done
  fi
done
if [ -d "$shared" ]; then
  cp "$shared"/weights/*.tflite "$seeds/tflite/"
  cp "$shared"/tables/penguins.csv "$seeds/csv/"
  head -200 "$shared"/tables/adult.csv >"$seeds/csv/adult_200.csv"
  /usr/bin/python3 - "$shared/images" "$seeds/image" <<'PY'
import os, sys
from PIL import Image
src, dst = sys.argv[1:]
for n in sorted(os.listdir(src)):
    im = Image.open(os.path.join(src, n)).convert("RGB")
    for size in (8, 32):
        small = im.resize((size, size))
        base = os.path.join(dst, "%s_%d" % (os.path.splitext(n)[0], size))
        small.save(base + ".png"); small.save(base + ".jpg", quality=80); small.save(base + ".bmp")
        small.convert("L").save(base + "_gray.png"); small.convert("RGBA").save(base + "_rgba.png")
PY
fi
/usr/bin/python3 - "$seeds/idx" <<'PY'
import gzip, os, struct, sys
dst = sys.argv[1]
src = "/usr/share/datasets/fashion-mnist"
images = gzip.open(os.path.join(src, "t10k-images-idx3-ubyte.gz")).read()[16:16 + 4 * 784] if os.path.isdir(src) else bytes(4 * 784)
files = {"images": struct.pack(">BBBBIII", 0, 0, 8, 3, 4, 28, 28) + images,
         "labels": struct.pack(">BBBBI", 0, 0, 8, 1, 4) + bytes([9, 2, 1, 1])}
for name, b in files.items():
    open(os.path.join(dst, name + ".idx"), "wb").write(b)
    open(os.path.join(dst, name + ".idx.gz"), "wb").write(gzip.compress(b))
PY

for t in "${list[@]}"; do
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/crashes/$t"
  echo "== $t: $(ls "$seeds/$t" | wc -l) seeds, until 1000000 runs or ${secs} s"
  # -rss_limit_mb: an allocation over 2 GB is reported as a bug. stb_image 2.27 and libhdf5 1.10.8 have
  # memory-safety bugs that gradtrace can only contain (it runs them in a child process, see
  # io/sandbox.h); their targets run in fork mode, which goes on after a crash and keeps every
  # crashing input for tests/corpus/.
  extra=()
  case $t in *_h5 | image) extra=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1) ;; esac
  # libhdf5 leaks on some corrupt files (in its own free lists, e.g. after a failed H5Dopen2). Those
  # leaks are suppressed: gradtrace runs libhdf5 in a child process that exits after one file.
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 UBSAN_OPTIONS=print_stacktrace=1 \
    LSAN_OPTIONS=suppressions=tests/fuzz/lsan.supp \
    "build-fuzz/tests/fuzz_$t" "build-fuzz/corpus/$t" "$seeds/$t" -runs=1000000 -max_total_time="$secs" \
    -rss_limit_mb=2048 -timeout=20 -max_len=1048576 -artifact_prefix="build-fuzz/crashes/$t/" -print_final_stats=1 "${extra[@]}" \
    2>&1 | tee "build-fuzz/$t.log" | grep -E "^#[0-9]+ *(INITED|DONE|NEW)|Done|ERROR|SUMMARY|stat::number_of_executed_units" | tail -8
done
