#pragma once
/// Leases as operators see them: `pxed leases` and /api/v1/leases.

#include <cstdint>
#include <string>
#include <vector>

#include "pxed/store/leases.hpp"

namespace pxed::app {

/// The state shown for a lease at `now`: a bound lease whose end has passed
/// is "expired" even if no running server has marked it yet.
std::string effective_state(const store::lease& l, std::int64_t now);

/// A fixed-width table, one lease a line, with a header.
std::string leases_table(const std::vector<store::lease>& leases, std::int64_t now);

/// A JSON array of objects: ip, mac, client_id (hex, when not a MAC),
/// hostname, state, starts, ends (Unix seconds), subnet.
std::string leases_json(const std::vector<store::lease>& leases, std::int64_t now);

}  // namespace pxed::app
