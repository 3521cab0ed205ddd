// CSV tables as UCI and Kaggle ship them: a header row, fields separated by ',' (or ';' or a tab, told
// apart by the header), spaces around fields trimmed (UCI's ", "), RFC 4180 quoting ("a, b" and ""
// for a quote inside), \n or \r\n line ends, UTF-8 with or without a byte-order mark (a file
// that is not UTF-8 is read as Latin-1, as Excel's exports often are). Empty lines are
// skipped. A file is untrusted input: every error names the file, the line and the column, and
// nothing is allocated beyond a size limit checked before reading.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace gt::data {

struct Csv {
  std::string name;                               // the file (for messages)
  char separator = ',';                           // the one the header uses
  std::vector<std::string> header;                // trimmed; an empty name becomes "column_K" (1-based)
  std::vector<std::vector<std::string>> columns;  // columns[j][i]: field j of data row i, trimmed, unquoted
  std::vector<int64_t> lines;                     // lines[i]: the file line (1-based) where data row i starts
  bool latin1 = false;  // the file was not UTF-8 and was read as Latin-1 (its text is UTF-8 here)
  int64_t rows() const { return int64_t(lines.size()); }
};

// The most bytes a CSV file may have: 1 GiB, or the environment variable GRADTRACE_MAX_CSV_BYTES. A
// larger file is refused before it is read (a table is held in memory, at several times its size).
uint64_t max_csv_bytes();

// Parses text (a whole file's contents; `name` for messages). Throws gt::Error "NAME:LINE:COLUMN:
// what" for a row with more or fewer fields than the header, an unterminated quote, text after a
// closing quote, a repeated column name, or no data rows.
Csv parse_csv(const std::string& text, const std::string& name);
// One line of fields (a row pasted on the command line), separated by sep, trimmed and unquoted.
std::vector<std::string> split_csv_line(const std::string& line, char sep, const std::string& name);

// read_file (refused above max_csv_bytes) + parse_csv.
Csv read_csv(const std::string& path);

}  // namespace gt::data
