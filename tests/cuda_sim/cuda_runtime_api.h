// The simulated runtime API (tests/cuda_sim/cuda_runtime.h).
#pragma once
#include "cuda_runtime.h"
