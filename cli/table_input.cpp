// A table model's input row on the command line (cli.h: RowFlags).
#include <cstdio>

#include "cli/cli.h"

namespace gt::cli {

RowFlags row_flags(Args& a) {
  RowFlags rf;
  rf.dataset = a.get("--dataset", "");
  rf.row = a.given("--row") ? a.get_int("--row", 0, 0, 1L << 40) : -1;
  rf.csv_row = a.get("--csv-row", "");
  if (rf.row >= 0 && !rf.csv_row.empty()) throw UsageError("give --row K or --csv-row, not both");
  if (rf.row >= 0 && rf.dataset.rfind("csv:", 0) != 0) throw UsageError("--row K reads a row of --dataset csv:FILE");
  return rf;
}

void check_input_kind(const nn::ModelInfo& info, const std::string& image, const RowFlags& rf) {
  if (info.features && !image.empty())
    throw UsageError("the model " + info.arch +
                     " takes table rows: --dataset csv:FILE --row K or --csv-row, not --image");
  if (info.features && !rf.given()) throw UsageError("the model " + info.arch + " takes a row: --row K or --csv-row");
  if (!info.features && rf.given())
    throw UsageError("--row and --csv-row go with a table model; " + info.arch + " takes --image");
}

data::TableSchema table_schema(const nn::ModelInfo& info) {
  return data::TableSchema::from_json(info.table, "the model " + info.arch);
}

data::TableRow load_row(const nn::ModelInfo& info, const RowFlags& rf) {
  const data::TableSchema s = table_schema(info);
  const auto warn = [](const std::string& w) { std::fprintf(stderr, "warning: %s\n", w.c_str()); };
  return rf.row >= 0 ? data::file_row(s, rf.dataset.substr(4), rf.row, warn) : data::pasted_row(s, rf.csv_row, warn);
}

}  // namespace gt::cli
