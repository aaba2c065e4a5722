// libFuzzer target for the DHCP codec: every datagram either decodes, and
// then survives encode -> decode unchanged, or fails with an offset inside
// the datagram. The typed accessors and the option table run on whatever
// decoded, since the engine calls them on every request. Built by the
// PXED_FUZZ build (tests/fuzz/CMakeLists.txt), or by hand from the source
// root:
//
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
//       tests/fuzz/dhcp_codec_fuzz.cpp src/proto/dhcp.cpp src/proto/dhcp_options.cpp \
//       src/wire/bytes.cpp src/wire/ipv4.cpp src/wire/mac.cpp src/wire/text.cpp \
//       -o dhcp_codec_fuzz

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <vector>

#include "pxed/proto/dhcp.hpp"
#include "pxed/proto/dhcp_options.hpp"

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

// Everything the engine may ask of a request; the results only need to exist.
void exercise_accessors(const pxed::dhcp::message& m) {
    using namespace pxed::dhcp;
    (void)m.message_type();
    (void)m.requested_ip();
    (void)m.server_id();
    (void)m.parameter_request_list();
    (void)m.max_message_size();
    (void)m.lease_time();
    (void)m.hostname();
    (void)m.vendor_class();
    (void)m.user_class();
    (void)m.client_id();
    (void)m.client_arch();
    (void)m.client_ndi();
    (void)m.client_uuid();
    (void)m.relay_agent_info();
    (void)m.ipxe_options();
    (void)m.has_ipxe();
    (void)m.firmware();
    (void)m.mac();
    check(m.hardware_address().size() <= chaddr_size);
    check(max_reply_size(m) >= default_max_message_size);
    for (const auto& o : m.options) {
        check(o.code != 0 && o.code != 52 && o.code != 255);
        (void)format_value(find_option_def(o.code), o.value);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace pxed::dhcp;

    // An exact-size copy so ASan sees any read past the datagram.
    const std::vector<std::uint8_t> datagram(data, data + size);
    const decode_result first = decode(datagram.data(), datagram.size());
    if (!first.ok()) {
        check(first.error().offset <= size);
        check(!to_string(first.error().code).empty());
        return 0;
    }
    const message& m = first.value();
    exercise_accessors(m);

    // With no size limit everything decode() accepted must encode, and the
    // result must decode to the same message and re-encode to the same bytes.
    encode_options unlimited;
    unlimited.max_message_size = std::numeric_limits<std::size_t>::max();
    const encode_result wire = encode(m, unlimited);
    check(wire.ok());
    check(wire.overloaded() == overload_fields::none);
    const decode_result second = decode(wire.bytes());
    check(second.ok());
    check(second.value() == m);
    check(!second.quirks().missing_end && second.quirks().garbage_after_end == 0);
    check(encode(second.value(), unlimited).bytes() == wire.bytes());

    // Within the 576-octet default the options either fit, with overload if
    // need be, or the encoder says so; what it writes reads back the same.
    const encode_result small = encode(m);
    if (!small.ok()) {
        check(small.error().code == encode_errc::does_not_fit);
        return 0;
    }
    check(small.bytes().size() >= bootp_min_size);
    check(small.bytes().size() <= default_max_message_size - ip_udp_overhead);
    const decode_result third = decode(small.bytes());
    check(third.ok());
    check(third.overloaded() == small.overloaded());
    check(!third.quirks().missing_end && third.quirks().garbage_after_end == 0);
    check(encode(third.value()).bytes() == small.bytes());
    // Fields that carried options come back empty; everything else is as sent.
    message expected = m;
    if (static_cast<unsigned>(small.overloaded()) != 0) {
        check(third.value().options.size() == m.options.size());
        for (const auto& o : m.options) {
            const option* back = third.value().find(o.code);
            check(back != nullptr && back->value == o.value);
        }
        expected.options = third.value().options;
    }
    check(third.value() == expected);
    return 0;
}
