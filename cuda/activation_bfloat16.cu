// The elementwise passes for __nv_bfloat16 (see activation.cuh).
#include "activation.cuh"

ACTLAYER_INSTANTIATE_ACTIVATION(__nv_bfloat16)
