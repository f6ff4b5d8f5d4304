// The elementwise passes for float (see activation.cuh).
#include "activation.cuh"

ACTLAYER_INSTANTIATE_ACTIVATION(float)
