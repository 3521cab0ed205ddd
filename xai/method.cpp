#include "xai/method.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace gt::xai {

std::vector<Method> builtin_methods();  // xai/registry.cpp

namespace {

std::vector<Method>& registry() {
  static std::vector<Method> all = builtin_methods();
  return all;
}

const OptionSpec* find_spec(const Method& m, const std::string& name) {
  for (const OptionSpec& s : m.options)
    if (s.name == name) return &s;
  return nullptr;
}

std::string g(double v) { return fmt("%.15g", v); }

}  // namespace

std::string fmt(const char* f, double a, double b, double c, double d) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a, b, c, d);
  return buf;
}

const std::string& Options::raw(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw Error("method option '" + name + "': the method has no such option");
  return it->second;
}
long Options::integer(const std::string& name) const { return std::strtol(raw(name).c_str(), nullptr, 10); }
double Options::real(const std::string& name) const { return std::strtod(raw(name).c_str(), nullptr); }
const std::string& Options::text(const std::string& name) const { return raw(name); }
bool Options::flag(const std::string& name) const { return raw(name) == "1"; }

const std::vector<Method>& methods() { return registry(); }

bool is_method(const std::string& name) {
  const auto& all = registry();
  return std::any_of(all.begin(), all.end(), [&](const Method& m) { return m.name == name; });
}

const Method& find_method(const std::string& name) {
  std::vector<std::string> names;
  for (const Method& m : registry()) {
    if (m.name == name) return m;
    names.push_back(m.name);
  }
  std::string near;
  for (const auto& n : nn::closest_names(name, names, 3)) near += (near.empty() ? "" : ", ") + n;
  throw InvalidArgument("unknown method '" + name + "'" + (near.empty() ? "" : " (closest: " + near + ")"));
}

void add_method(Method m) {
  if (m.name.empty() || !m.run) throw InvalidArgument("a method needs a name and a run function");
  if (is_method(m.name)) throw InvalidArgument("a method named '" + m.name + "' exists already");
  registry().push_back(std::move(m));
}

Options default_options(const Method& m) {
  Options o;
  for (const OptionSpec& s : m.options) o.set_raw(s.name, s.type == OptionSpec::Type::flag ? "" : s.def);
  return o;
}

void set_option(const Method& m, Options& o, const std::string& name, const std::string& value) {
  const OptionSpec* s = find_spec(m, name);
  if (!s) throw InvalidArgument(m.name + " has no option --" + name);
  const std::string flag = "--" + name;
  using T = OptionSpec::Type;
  if (s->type == T::integer || s->type == T::real) {
    const char* what = s->type == T::integer ? "an integer" : "a number";
    char* end = nullptr;
    errno = 0;
    const double v =
        s->type == T::integer ? double(std::strtoll(value.c_str(), &end, 10)) : std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0' || errno == ERANGE || !(v >= s->lo && v <= s->hi))
      throw InvalidArgument(flag + " must be " + what + " in [" + g(s->lo) + ", " + g(s->hi) + "], got '" + value +
                            "'");
  } else if (s->type == T::flag) {
    if (value != "" && value != "1") throw InvalidArgument(flag + " takes no value");
  } else if (s->check) {
    s->check(value);
  }
  o.set_raw(name, value);
}

std::string option_help(const Method& m) {
  std::string out;
  for (const OptionSpec& s : m.options) {
    std::string head = "  --" + s.name + (s.metavar.empty() ? "" : " " + s.metavar);
    head += std::string(head.size() < 19 ? 19 - head.size() : 1, ' ');
    std::string help = s.help;
    if (!s.def.empty())  // "(SLIC)" -> "(SLIC, default 50)"
      help = help.back() == ')' ? help.substr(0, help.size() - 1) + ", default " + s.def + ")"
                                : help + " (default " + s.def + ")";
    for (size_t nl; (nl = help.find('\n')) != std::string::npos;) {  // continuation lines under the first
      out += head + help.substr(0, nl) + "\n";
      help = help.substr(nl + 1);
      head = std::string(19, ' ');
    }
    out += head + help + "\n";
  }
  return out;
}

const char* cost_name(Cost c) {
  return c == Cost::one_pass ? "one pass" : c == Cost::tens ? "tens of passes" : "hundreds of passes";
}

MethodResult explain(const Method& m, Subject& s, const Target& t, const Options& o, const MapOptions& map,
                     const Progress& progress) {
  MethodResult r;
  try {
    r = m.run(s, t, o, progress);
  } catch (const OutOfDeviceMemory& e) {
    if (!find_spec(m, "batch")) throw;
    throw Error(std::string(e.what()) + "; try a smaller --batch (it is " + o.raw("batch") + ")");
  }
  if (r.map.empty()) {
    r.map = channel_map(r.attribution, map.reduce, map.signed_map);
    const char* red[] = {"max |a|", "mean |a|", "l2"};
    r.params += (r.params.empty() ? "" : "; ") + std::string("map: ") + red[int(map.reduce)] + " over channels" +
                (map.signed_map ? ", signed" : "");
  }
  return r;
}

OptionSpec int_option(const std::string& name, long def, long lo, long hi, const std::string& metavar,
                      const std::string& help) {
  return {name, OptionSpec::Type::integer, std::to_string(def), double(lo), double(hi), metavar, help, {}};
}

OptionSpec real_option(const std::string& name, double def, double lo, double hi, const std::string& metavar,
                       const std::string& help) {
  return {name, OptionSpec::Type::real, g(def), lo, hi, metavar, help, {}};
}

OptionSpec text_option(const std::string& name, const std::string& def, const std::string& metavar,
                       const std::string& help, std::function<void(const std::string&)> check) {
  return {name, OptionSpec::Type::text, def, 0, 0, metavar, help, std::move(check)};
}

OptionSpec flag_option(const std::string& name, const std::string& help) {
  return {name, OptionSpec::Type::flag, "", 0, 0, "", help, {}};
}

Method attribution_entry(const std::string& name, const std::string& summary, const std::string& paper,
                         std::function<Tensor(const Model&, const Tensor&, const Target&)> f) {
  Method m;
  m.name = name, m.summary = summary, m.paper = paper;
  m.target_all = true;
  m.run = [f = std::move(f)](Subject& s, const Target& t, const Options&, const Progress&) {
    MethodResult r;
    r.attribution = f(s.fn, s.x, t);
    return r;
  };
  return m;
}

OptionSpec batch_option(long def, const std::string& what) {
  return int_option("batch", def, 1, 1024, "B", what + " per forward pass");
}

OptionSpec seed_option(const std::string& what) { return int_option("seed", 0, 0, 1L << 62, "S", what); }

const char* const kBaselineNames =
    "black, white, gray (pixel values 0, 255, 128 before preprocessing), noise\n"
    "(uniform pixels), blur (the image blurred, sigma 10 px), or an image / .h5 file";

std::string completeness_note(double f_x, double f_baseline, double delta) {
  const double gap = f_x - f_baseline, rel = std::abs(delta) / std::max(std::abs(gap), 1e-12);
  return fmt("f(x) = %.6g, f(baseline) = %.6g, sum(attribution) = %.6g, completeness error %.4g", f_x, f_baseline,
             delta + gap, delta) +
         fmt(" (%.2f%% of |f(x) - f(baseline)|)", 100 * rel);
}

}  // namespace gt::xai
