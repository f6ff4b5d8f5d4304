// PReLU for double (see prelu.cuh).
#include "prelu.cuh"

ACTLAYER_INSTANTIATE_PRELU(double)
