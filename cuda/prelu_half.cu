// PReLU for __half (see prelu.cuh).
#include "prelu.cuh"

ACTLAYER_INSTANTIATE_PRELU(__half)
