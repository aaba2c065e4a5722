// Helpers the servers in net/ share: how a peer is named in a log line.

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include "endpoint.hpp"  // src/net: a private header (Asio stays out of include/)

namespace asio = boost::asio;
using pxed::net::describe;

TEST(net_describe, names_tcp_and_udp_peers_alike) {
    const auto a = asio::ip::make_address("10.0.0.5");
    EXPECT_EQ(describe(asio::ip::tcp::endpoint(a, 41234)), "10.0.0.5:41234");
    EXPECT_EQ(describe(asio::ip::udp::endpoint(a, 41234)), "10.0.0.5:41234");
    EXPECT_EQ(describe(asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), "127.0.0.1:0");
}
