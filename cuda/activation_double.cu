// The elementwise passes for double (see activation.cuh).
#include "activation.cuh"

ACTLAYER_INSTANTIATE_ACTIVATION(double)
