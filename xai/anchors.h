// Anchors (Ribeiro, Singh & Guestrin 2018), as alibi's AnchorTabular searches for them: an anchor is
// a conjunction of predicates on the row's own values, "age <= 28 AND relationship = Own-child", that
// keeps the model's answer: among rows that satisfy it, the model predicts the row's class with
// precision >= threshold. The predicates are alibi's: a categorical feature gives its category; a
// numeric feature one half-line per training quartile q, on the row's side of it ("age <= q" or
// "age > q"), so that an anchor may say "age <= 37" where the row's own bin is 28 < age <= 37.
//   D(z | A)   a training row drawn at random, with each anchored feature's value replaced by that of
//              a random training row that satisfies the anchor's predicates on that feature
//   prec(A) = P(f(z) = f(x) | z ~ D(. | A)),   cov(A) = share of training rows satisfying A
// Beam search over anchors of growing size: each round extends the beam's anchors by one predicate
// and keeps the `beam` most precise, found by KL-LUCB (Kaufmann & Kalyanakrishnan 2013) to
// tolerance epsilon with confidence 1 - delta. A kept anchor whose precision clears the threshold
// (sampled to epsilon_stop, as alibi) and whose lower confidence bound on `verify` fresh samples
// clears it too becomes the answer if it covers more than the answer so far; the search goes on
// among candidates that would cover more still (alibi's anchor_beam), until none is left.
#pragma once
#include <string>
#include <vector>

#include "xai/table_lime.h"

namespace gt::xai {

struct AnchorOptions {
  double threshold = 0.95, delta = 0.1, epsilon = 0.15;  // epsilon: KL-LUCB's tolerance (alibi's tau)
  double epsilon_stop = 0.05;  // a candidate is sampled until its precision is this close to the threshold
  int beam = 2;
  int batch = 100;    // samples per arm pull
  int verify = 5000;  // fresh samples an anchor's precision is checked on (and then reported from)
  int max_size = 0;   // 0: up to every feature
  uint64_t seed = 0;
};

// A candidate predicate of row x: feature `feature`'s value in bins lo..hi (numeric: LimeSampler::bin)
// or its category lo (categorical).
struct AnchorPredicate {
  size_t feature = 0;
  int lo = 0, hi = 0;
  std::string text;  // "age <= 37", "relationship = Own-child"
};
std::vector<AnchorPredicate> anchor_predicates(const data::TableSchema& s, const LimeSampler& bins,
                                               const std::vector<double>& x);

struct Anchor {
  std::vector<size_t> ids;              // its predicates (indices into anchor_predicates), in the order added
  std::vector<std::string> predicates;  // their texts
  std::vector<size_t> features;         // their features
  double precision = 0, coverage = 1;   // precision on `verify` fresh samples; coverage on the training rows
  int64_t samples = 0;                  // model evaluations in the search
  bool reached = false;                 // its precision's lower bound (1 - delta) on fresh samples >= threshold
};

// x: the row in values form (numbers, category indices), `cls` the class it is explained for (the
// model's answer for it); training: the rows the sampler draws from.
Anchor anchor(nn::Model& m, const data::TableSchema& s, const TableRows& training, const std::vector<double>& x,
              int64_t cls, const AnchorOptions& o);

// The precision of an anchor (Anchor::ids) over n fresh samples of D(z | A) (the acceptance check).
double anchor_precision(nn::Model& m, const data::TableSchema& s, const TableRows& training,
                        const std::vector<double>& x, int64_t cls, const std::vector<size_t>& ids, int n,
                        uint64_t seed);

}  // namespace gt::xai
