#include "data/csv.h"

#include <cstdlib>
#include <filesystem>
#include <set>

#include "autodiff/tensor.h"
#include "io/limits.h"

namespace gt::data {
namespace {

// A record-at-a-time reader over the whole text. `line` is the line the reader is on (1-based).
struct Reader {
  const std::string& t;
  const std::string& name;
  char sep = ',';
  size_t i = 0;
  int64_t line = 1;

  [[noreturn]] void fail(int64_t at, size_t column, const std::string& what) const {
    throw Error(name + ":" + std::to_string(at) + ": column " + std::to_string(column) + ": " + what);
  }
  // Spaces around a field are not part of it; a tab is, when tabs separate the fields.
  bool blank(char c) const { return c == ' ' || (c == '\t' && sep != '\t'); }
  bool at_line_end() const { return i >= t.size() || t[i] == '\n' || t[i] == '\r'; }
  void skip_line_end() {
    if (i < t.size() && t[i] == '\r') ++i;
    if (i < t.size() && t[i] == '\n') ++i;
    ++line;
  }
  // A quoted field from the opening quote at t[i]: "" is a quote, line ends inside are kept.
  std::string quoted(size_t column) {
    const int64_t opened = line;
    std::string f;
    for (++i;; ++i) {
      if (i >= t.size()) fail(opened, column, "a quote opened on this line is never closed");
      if (t[i] == '"') {
        if (i + 1 < t.size() && t[i + 1] == '"') {
          f += '"';
          ++i;
          continue;
        }
        ++i;
        break;
      }
      if (t[i] == '\n') ++line;
      f += t[i];
    }
    while (i < t.size() && blank(t[i])) ++i;
    if (!at_line_end() && t[i] != sep)
      fail(line, column, "text after a closing quote (a quote inside a quoted field is written \"\")");
    return f;
  }
  std::string field(size_t column) {
    while (i < t.size() && blank(t[i])) ++i;
    if (i < t.size() && t[i] == '"') return quoted(column);
    const size_t begin = i;
    while (!at_line_end() && t[i] != sep) ++i;
    size_t end = i;
    while (end > begin && blank(t[end - 1])) --end;
    return t.substr(begin, end - begin);
  }
  // The next record into f, skipping blank lines; false at the end of the text.
  bool record(std::vector<std::string>& f, int64_t& start) {
    for (;;) {
      if (i >= t.size()) return false;
      size_t j = i;
      while (j < t.size() && (t[j] == ' ' || t[j] == '\t')) ++j;
      if (j < t.size() && t[j] != '\n' && t[j] != '\r') break;
      i = j;
      skip_line_end();
    }
    start = line;
    f.clear();
    for (;;) {
      f.push_back(field(f.size() + 1));
      if (at_line_end()) break;
      ++i;  // the separator
    }
    skip_line_end();
    return true;
  }
};

// The header's separator: whichever of ',' ';' and tab occurs most often outside quotes (',' on a tie).
char detect_separator(const std::string& t, size_t from) {
  int64_t comma = 0, semicolon = 0, tab = 0;
  bool quoted = false;
  for (size_t i = from; i < t.size() && (quoted || (t[i] != '\n' && t[i] != '\r')); ++i) {
    if (t[i] == '"') quoted = !quoted;
    if (quoted) continue;
    comma += t[i] == ',';
    semicolon += t[i] == ';';
    tab += t[i] == '\t';
  }
  if (semicolon > comma && semicolon >= tab) return ';';
  return tab > comma ? '\t' : ',';
}

// Whether t is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool valid_utf8(const std::string& t) {
  for (size_t i = 0; i < t.size();) {
    const auto c = static_cast<unsigned char>(t[i]);
    const int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
    if (n < 0 || i + size_t(n) >= t.size()) return false;
    uint32_t cp = n == 0 ? c : c & (0x3F >> n);
    for (int k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(t[i + size_t(k)]);
      if ((d >> 6) != 2) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    static const uint32_t lowest[] = {0, 0x80, 0x800, 0x10000};
    if (cp < lowest[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += size_t(n) + 1;
  }
  return true;
}

// Latin-1 bytes as UTF-8 (each byte is the code point of the same value).
std::string latin1_to_utf8(const std::string& t) {
  std::string u;
  u.reserve(t.size() + t.size() / 8);
  for (char ch : t) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      u += ch;
    } else {
      u += char(0xC0 | (c >> 6));
      u += char(0x80 | (c & 0x3F));
    }
  }
  return u;
}

}  // namespace

uint64_t max_csv_bytes() {
  static const uint64_t limit = [] {
    const char* e = std::getenv("GRADTRACE_MAX_CSV_BYTES");
    const unsigned long long v = e ? std::strtoull(e, nullptr, 10) : 0;
    return v ? uint64_t(v) : uint64_t(1) << 30;
  }();
  return limit;
}

Csv parse_csv(const std::string& raw, const std::string& name) {
  Csv c;
  c.name = name;
  c.latin1 = !valid_utf8(raw);
  const std::string latin1 = c.latin1 ? latin1_to_utf8(raw) : std::string();
  const std::string& text = c.latin1 ? latin1 : raw;
  const size_t bom = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  Reader r{text, name, detect_separator(text, bom), bom};
  c.separator = r.sep;
  int64_t start = 0;
  if (!r.record(c.header, start)) throw Error(name + ": empty file (a CSV table needs a header row)");
  std::set<std::string> seen;
  for (size_t j = 0; j < c.header.size(); ++j) {
    if (c.header[j].empty()) c.header[j] = "column_" + std::to_string(j + 1);
    if (!seen.insert(c.header[j]).second)
      r.fail(start, j + 1, "the column name '" + c.header[j] + "' appears twice in the header");
  }
  c.columns.resize(c.header.size());
  std::vector<std::string> f;
  while (r.record(f, start)) {
    if (f.size() != c.header.size()) {
      const size_t k = std::min(f.size(), c.header.size());
      r.fail(start, k + 1,
             std::to_string(f.size()) + " fields where the header has " + std::to_string(c.header.size()) +
                 (f.size() < c.header.size() ? " (" + c.header[k] + " is missing)" : ""));
    }
    for (size_t j = 0; j < f.size(); ++j) c.columns[j].push_back(std::move(f[j]));
    c.lines.push_back(start);
  }
  if (c.lines.empty()) throw Error(name + ": no data rows under the header");
  return c;
}

std::vector<std::string> split_csv_line(const std::string& line, char sep, const std::string& name) {
  Reader r{line, name, sep, 0};
  std::vector<std::string> f;
  int64_t start = 0;
  if (!r.record(f, start)) return {};
  if (r.i < line.size()) r.fail(r.line, f.size(), "one row was expected, and a second line follows");
  return f;
}

Csv read_csv(const std::string& path) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > max_csv_bytes())
    throw Error(path + ": " + human_bytes(double(size)) + ", more than a CSV table may have (" +
                human_bytes(double(max_csv_bytes())) +
                ": a table is held in memory; the environment variable GRADTRACE_MAX_CSV_BYTES raises the limit)");
  const std::vector<uint8_t> bytes = read_file(path, max_csv_bytes(), path);
  return parse_csv(std::string(bytes.begin(), bytes.end()), path);
}

}  // namespace gt::data
