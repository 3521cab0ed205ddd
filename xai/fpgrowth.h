// Frequent itemsets by FP-growth (Han, Pei & Yin 2000): the itemsets that at least `min_count`
// transactions contain, up to `max_size` items. The transactions are stored once, in a prefix tree
// of their items ordered by decreasing frequency (the FP-tree), and each itemset X is grown from the
// tree of the transactions that contain X (its conditional tree), read off the nodes of X's last
// item: no candidate is generated and counted, as Apriori would.
#pragma once
#include <cstdint>
#include <vector>

namespace gt::xai {

struct Itemset {
  std::vector<int> items;  // ascending
  int64_t count = 0;       // transactions that contain every item
};

// transactions: item ids >= 0, each at most once per transaction. The result is ordered by size,
// then by items (a fixed order whatever the tree's shape).
std::vector<Itemset> frequent_itemsets(const std::vector<std::vector<int>>& transactions, int64_t min_count,
                                       int max_size);

}  // namespace gt::xai
