#pragma once
// Shared by the servers in net/ (a private header, like log_limit.hpp: it is
// written for Asio's endpoint types, and Asio stays out of include/).

#include <string>

namespace pxed::net {

/// "address:port" for a log line, the same for TCP and UDP peers
/// (`10.0.0.5:41234`). Works for any endpoint with address() and port(),
/// which all of Asio's have.
template <typename Endpoint>
std::string describe(const Endpoint& ep) {
    return ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace pxed::net
