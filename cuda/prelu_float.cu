// PReLU for float (see prelu.cuh).
#include "prelu.cuh"

ACTLAYER_INSTANTIATE_PRELU(float)
