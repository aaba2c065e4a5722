// libFuzzer target for the TFTP codec: every datagram either decodes, and
// then survives encode -> decode unchanged, or fails with an offset inside
// the datagram. Built by the PXED_FUZZ build (tests/fuzz/CMakeLists.txt),
// or by hand from the source root:
//
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
//       tests/fuzz/tftp_codec_fuzz.cpp src/proto/tftp.cpp src/wire/bytes.cpp \
//       -o tftp_codec_fuzz

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "pxed/proto/tftp.hpp"

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace pxed::tftp;

    // An exact-size copy so ASan sees any read past the datagram.
    const std::vector<std::uint8_t> datagram(data, data + size);
    const decode_result first = decode(datagram.data(), datagram.size());
    if (!first.ok()) {
        check(first.error().offset <= size);
        check(!to_string(first.error().code).empty());
        return 0;
    }

    const std::vector<std::uint8_t> wire = encode(first.value());
    const decode_result second = decode(wire);
    check(second.ok());
    check(second.value() == first.value());
    // What we encode is canonical: no quirk needed to read it back, and a
    // second round trip is byte-identical.
    check(!second.quirks().any());
    check(encode(second.value()) == wire);

    if (const auto* r = first.get_if<request>()) {
        check(!r->filename.empty());
        check(r->options.size() <= max_options);
        for (const auto& o : r->options) {
            check(!o.name.empty());
            (void)parse_decimal(o.value);
        }
        check(parse_mode(r->mode_text) == r->mode);
    }
    return 0;
}
