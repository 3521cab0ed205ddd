// How alike are two attribution maps of one image? The measures used to compare methods, and by the
// sanity checks of Adebayo et al. (2018, "Sanity Checks for Saliency Maps"), where the map of a
// trained model is compared with the map of the same model with random weights:
//   spearman  rho = corr(rank(a), rank(b)): the Pearson correlation of the pixels' ranks (tied pixels
//             share their mean rank). 1 when both maps order the pixels alike, whatever their scales;
//             near 0 for unrelated orders; -1 for opposite ones.
//   pearson   corr(a, b) = cov(a, b) / (sd(a) sd(b)), of the values themselves.
//   top_iou   |A ∩ B| / |A ∪ B|, where A and B are each map's top q of the pixels (the k = ceil(q n)
//             highest in importance_order, the order deletion and insertion use): do the maps
//             point at the same region?
// A constant map has no order: its correlations are NaN.
#pragma once
#include <vector>

namespace gt::xai {

struct MapAgreement {
  double spearman = 0, pearson = 0, top_iou = 0;
};

// a and b: the same n pixels (n >= 2), in any layout both share; 0 < top_fraction <= 1.
MapAgreement compare_maps(const std::vector<float>& a, const std::vector<float>& b, double top_fraction = 0.1);

// Every pair of the maps, as an N x N matrix in row-major order (symmetric; the diagonal holds each
// map against itself). Each map is sorted once, however many pairs it is in.
std::vector<MapAgreement> compare_all(const std::vector<std::vector<float>>& maps, double top_fraction = 0.1);

// 1-based ranks, ascending; tied values get the mean of the ranks they span.
std::vector<double> ranks(const std::vector<float>& v);

// Correlations of two series of one length (>= 2), in double: Pearson's r, and Spearman's rho (r of
// the tied ranks, NaN when either holds NaN), as scipy.stats computes them. NaN for a constant series.
double pearson(const std::vector<double>& x, const std::vector<double>& y);
double spearman(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace gt::xai
