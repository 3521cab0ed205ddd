// Plots of what the tape saw (inspect --plot).
#pragma once
#include <string>

#include "image/image.h"
#include "xai/inspect.h"

namespace gt::viz {

// The gradient-flow picture (inspect --plot): one bar per tape node in forward order (depth), on top
// the L2 norm of the gradient arriving at it (log scale: vanishing or exploding gradients), below the
// mean of its activation (ReLU gating, batch norm re-centring); bars coloured by the op's family.
Image gradient_flow_plot(const xai::Inspection& r, const std::string& title);
// The relevance flow (inspect --rule --plot): per node in forward order, on top the relevance that
// arrived at it as a share of what the method conserves (100%: nothing absorbed on the way), below
// its positive and negative mass; bars coloured by the op's family.
Image relevance_flow_plot(const xai::RelevanceFlow& r, const std::string& title);

}  // namespace gt::viz
