#include "pxed/doctor/finding.hpp"
