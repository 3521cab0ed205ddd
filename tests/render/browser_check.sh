#!/usr/bin/env bash
# The HTML pages in a real browser: the demo's out/index.html, a report page and a table report, rendered by Debian's
# headless Chromium. A checker page in the same folder loads each into an iframe (file access between
# local files allowed for it alone) and writes what it finds into its own DOM, which --dump-dom
# prints: every <img> must have loaded (naturalWidth > 0), no element may point outside the folder
# (http:, https: or any other scheme but data:), and the console must show no error (a missing file
# is one). Name resolution is switched off, so a fetch from the network would fail and show as well.
#   tests/browser_check.sh GRADTRACE          skips (77) without chromium or Fashion-MNIST
set -uo pipefail
gt="$1"
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "skipped: no chromium (apt-get install chromium)"; exit 77; }
[ -d "${GRADTRACE_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}" ] ||
  { echo "skipped: Fashion-MNIST is not installed (the pages explain its images)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
"$gt" demo --out "$tmp/demo" --images 0,1 --steps 8 >/dev/null || { echo "FAIL: demo"; exit 1; }
"$gt" report --image fashion-mnist:test:0 --out "$tmp/report" --methods saliency,gradcam,ig,lime --steps 4 \
  >/dev/null 2>&1 || { echo "FAIL: report"; exit 1; }

check() {  # check DIR: DIR/index.html in the browser
  local dir=$1
  cat >"$dir/browser_check.html" <<'EOF'
<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><pre id="result">not loaded</pre>
<iframe id="page" src="index.html" width="1200" height="800"></iframe>
<script>
document.getElementById('page').onload = function () {
  var d = this.contentDocument, imgs = Array.prototype.slice.call(d.images), broken = [], outside = [];
  imgs.forEach(function (i) { if (!(i.complete && i.naturalWidth > 0)) broken.push(i.getAttribute('src')); });
  Array.prototype.forEach.call(d.querySelectorAll('[src],[href]'), function (e) {
    var u = e.getAttribute('src') || e.getAttribute('href');
    if (/^[a-z][a-z0-9+.-]*:/i.test(u) && !/^data:/i.test(u)) outside.push(u);
  });
  document.getElementById('result').textContent =
      'images=' + imgs.length + ' broken=' + JSON.stringify(broken) + ' outside=' + JSON.stringify(outside);
};
</script></body></html>
EOF
  local dom log
  dom=$("$browser" --headless --no-sandbox --disable-gpu --allow-file-access-from-files \
    --host-resolver-rules="MAP * ~NOTFOUND" --enable-logging=stderr --v=0 --virtual-time-budget=20000 \
    --dump-dom "file://$dir/browser_check.html" 2>"$dir/console.log")
  local result; result=$(echo "$dom" | sed -n 's/.*<pre id="result">\([^<]*\)<\/pre>.*/\1/p')
  echo "$(basename "$dir")/index.html: $result"
  [[ "$result" =~ ^images=([0-9]+)\ broken=\[\]\ outside=\[\]$ ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] ||
    { echo "FAIL: $(basename "$dir")/index.html in chromium: ${result:-no result}"; fail=1; }
  # The page's own console (not the browser's log lines): messages of level error, or failed loads.
  if grep -E 'CONSOLE|Failed to load|net::ERR' "$dir/console.log" | grep -v 'browser_check.html' | grep -q .; then
    echo "FAIL: $(basename "$dir")/index.html: console errors"; grep -E 'CONSOLE|Failed to load|net::ERR' "$dir/console.log"
    fail=1
  fi
}
check "$tmp/demo"
check "$tmp/report"
# A table model's report (report --dataset csv:), on a quick penguins model, where the shared tables are.
tables="$(cd "$(dirname "$0")/../../.." && pwd)/shared/data/tables"
if [ -f "$tables/penguins.csv" ]; then
  "$gt" train --dataset "csv:$tables/penguins.csv" --target species --epochs 5 --out "$tmp/p.h5" >/dev/null 2>&1 &&
    "$gt" report --weights "$tmp/p.h5" --dataset "csv:$tables/penguins.csv" --out "$tmp/table_report" >/dev/null 2>&1 ||
    { echo "FAIL: report --dataset csv:"; exit 1; }
  check "$tmp/table_report"
else
  echo "note: ../shared/data/tables is absent: the table report is not checked"
fi
# The check itself must fail on a broken page: a missing image, a link to the network, a console error.
mkdir -p "$tmp/broken"
printf '<html><body><img src="missing.png"><img src="http://example.com/x.png"><script>console.error("boom")</script></body></html>' \
  >"$tmp/broken/index.html"
good=$fail
check "$tmp/broken" >"$tmp/broken.out"
if [ "$fail" = "$good" ] || ! grep -q 'broken=\["missing.png","http://example.com/x.png"\] outside=\["http://example.com/x.png"\]' "$tmp/broken.out" ||
  ! grep -q 'console errors' "$tmp/broken.out"; then
  echo "FAIL: the check passed a broken page:"; cat "$tmp/broken.out"; exit 1
fi
fail=$good
[ "$fail" = 0 ] && echo "the pages render in $("$browser" --version 2>/dev/null | head -1): every image loaded, nothing outside the folder, no console error"
exit "$fail"
