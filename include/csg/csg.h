// csg/csg.h — the whole public API in one include.
#pragma once
#include "csg/autograd.h"
#include "csg/cuda.h"
#include "csg/error.h"
#include "csg/metrics.h"
#include "csg/ops.h"
#include "csg/random.h"
#include "csg/tensor.h"
