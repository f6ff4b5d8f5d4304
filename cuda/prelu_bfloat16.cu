// PReLU for __nv_bfloat16 (see prelu.cuh).
#include "prelu.cuh"

ACTLAYER_INSTANTIATE_PRELU(__nv_bfloat16)
