#include "xai/fpgrowth.h"

#include <algorithm>
#include <map>

namespace gt::xai {
namespace {

// A prefix tree of weighted transactions whose items are in one fixed order (`rank`: smaller first).
// Each node counts the transactions through it; the nodes of one item are chained by `next`.
struct FpTree {
  struct Node {
    int item = -1, parent = -1, next = -1;
    int64_t count = 0;
  };
  std::vector<Node> nodes{Node{}};           // 0: the root
  std::map<std::pair<int, int>, int> child;  // (parent, item) -> node
  std::map<int, int> head;                   // item -> its first node
  std::map<int, int64_t> support;            // item -> transactions containing it

  void insert(const std::vector<int>& path, int64_t count) {
    int at = 0;
    for (int item : path) {
      auto [it, fresh] = child.try_emplace({at, item}, int(nodes.size()));
      if (fresh) {
        Node n;
        n.item = item, n.parent = at;
        auto h = head.find(item);
        n.next = h == head.end() ? -1 : h->second;
        head[item] = int(nodes.size());
        nodes.push_back(n);
      }
      at = it->second;
      nodes[size_t(at)].count += count;
      support[item] += count;
    }
  }
};

struct Miner {
  int64_t min_count;
  int max_size;
  std::vector<int> rank;  // item -> its place in the order of decreasing frequency
  std::vector<Itemset> out;

  // The paths of weighted transactions, their infrequent items left out, in the tree's order.
  FpTree tree_of(const std::vector<std::pair<std::vector<int>, int64_t>>& base) const {
    std::map<int, int64_t> count;
    for (const auto& [items, c] : base)
      for (int i : items) count[i] += c;
    FpTree t;
    for (const auto& [items, c] : base) {
      std::vector<int> path;
      for (int i : items)
        if (count[i] >= min_count) path.push_back(i);
      std::sort(path.begin(), path.end(), [&](int a, int b) { return rank[size_t(a)] < rank[size_t(b)]; });
      if (!path.empty()) t.insert(path, c);
    }
    return t;
  }

  // Every frequent itemset that extends `suffix` by items of t (t: the transactions containing suffix).
  void grow(const FpTree& t, const std::vector<int>& suffix) {
    for (const auto& [item, count] : t.support) {
      if (count < min_count) continue;
      Itemset s;
      s.items = suffix;
      s.items.push_back(item);
      s.count = count;
      out.push_back(s);
      if (int(s.items.size()) >= max_size) continue;
      // The conditional pattern base of `item`: the path above each of its nodes, weighted by the node.
      std::vector<std::pair<std::vector<int>, int64_t>> base;
      for (int n = t.head.at(item); n >= 0; n = t.nodes[size_t(n)].next) {
        std::vector<int> path;
        for (int p = t.nodes[size_t(n)].parent; p > 0; p = t.nodes[size_t(p)].parent)
          path.push_back(t.nodes[size_t(p)].item);
        if (!path.empty()) base.emplace_back(std::move(path), t.nodes[size_t(n)].count);
      }
      if (!base.empty()) grow(tree_of(base), s.items);
    }
  }
};

}  // namespace

std::vector<Itemset> frequent_itemsets(const std::vector<std::vector<int>>& transactions, int64_t min_count,
                                       int max_size) {
  Miner m;
  m.min_count = std::max<int64_t>(min_count, 1);
  m.max_size = max_size;
  int items = 0;
  for (const auto& t : transactions)
    for (int i : t) items = std::max(items, i + 1);
  std::vector<int64_t> freq(size_t(items), 0);
  for (const auto& t : transactions)
    for (int i : t) ++freq[size_t(i)];
  std::vector<int> order(static_cast<size_t>(items));
  for (int i = 0; i < items; ++i) order[size_t(i)] = i;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return freq[size_t(a)] > freq[size_t(b)]; });
  m.rank.assign(size_t(items), 0);
  for (int r = 0; r < items; ++r) m.rank[size_t(order[size_t(r)])] = r;
  std::vector<std::pair<std::vector<int>, int64_t>> base;
  for (const auto& t : transactions) base.emplace_back(t, 1);
  if (max_size >= 1) m.grow(m.tree_of(base), {});
  for (Itemset& s : m.out) std::sort(s.items.begin(), s.items.end());
  std::sort(m.out.begin(), m.out.end(), [](const Itemset& a, const Itemset& b) {
    return a.items.size() != b.items.size() ? a.items.size() < b.items.size() : a.items < b.items;
  });
  return m.out;
}

}  // namespace gt::xai
