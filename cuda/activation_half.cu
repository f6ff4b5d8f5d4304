// The elementwise passes for __half (see activation.cuh).
#include "activation.cuh"

ACTLAYER_INSTANTIATE_ACTIVATION(__half)
