#include "actlayer/version.hpp"

namespace actlayer {

const char* version() noexcept { return ACTLAYER_VERSION_STRING; }

}  // namespace actlayer
