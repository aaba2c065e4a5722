#include <algorithm>
#include <string>
#include <utility>

#include "pxed/engine/tftp_transfer.hpp"

namespace pxed::tftp {

namespace {

// RFC 7440 section 3: windowsize ranges 1..65535.
constexpr std::uint64_t max_windowsize_rfc = 65535;
// RFC 2349 section 2: timeout ranges 1..255 seconds.
constexpr std::uint64_t min_timeout_s = 1;
constexpr std::uint64_t max_timeout_s = 255;

std::uint16_t effective_max_blksize(const transfer_config& cfg) {
    return std::clamp(cfg.max_blksize, min_blksize, max_blksize);
}

std::uint16_t effective_max_windowsize(const transfer_config& cfg) {
    // Half the 16-bit block space: an ACK then names one block of the window
    // without doubt, however late it arrives (see read_transfer::on_ack).
    return std::clamp<std::uint16_t>(cfg.max_windowsize, 1, 32768);
}

}  // namespace

negotiation negotiate(const request& rrq, std::optional<std::uint64_t> source_size, const transfer_config& cfg) {
    negotiation n;
    bool seen_blksize = false;
    bool seen_tsize = false;
    bool seen_timeout = false;
    bool seen_windowsize = false;

    // RFC 2347 allows each option once. A client repeating one is broken;
    // the first occurrence counts and the rest are ignored, so the OACK never
    // names an option twice.
    for (const auto& o : rrq.options) {
        if (names_equal(o.name, "blksize")) {
            if (std::exchange(seen_blksize, true)) continue;
            const auto v = parse_decimal(o.value);
            if (!v) continue;  // garbage: not acknowledged, the client keeps 512 (RFC 2347)
            if (*v < min_blksize) {
                // RFC 2348 makes 8 the smallest block. A client asking for
                // less cannot be served well by 512 either; refuse like
                // tftp-hpa so the failure is explicit on both ends.
                n.refusal = error_packet{error_code::option_refused, "blksize must be at least 8 (RFC 2348)"};
                return n;
            }
            // Above the path MTU (or above 65464) is reduced, not refused:
            // RFC 2348 lets the server answer a smaller value, and the boot
            // proceeds with the largest block that fits in one frame.
            n.blksize = static_cast<std::uint16_t>(std::min<std::uint64_t>(*v, effective_max_blksize(cfg)));
            n.acknowledged.push_back(option{o.name, std::to_string(n.blksize)});
        } else if (names_equal(o.name, "tsize")) {
            if (std::exchange(seen_tsize, true)) continue;
            // RFC 2349: the client sends 0 in an RRQ; whatever number it
            // sends, the answer is the real size. In netascii mode the size
            // after conversion would need a pass over the whole file, so the
            // option is left out of the OACK, which RFC 2347 allows (tftp-hpa
            // refuses the whole request instead, which fails clients such as
            // Tftp.Net that always ask for tsize).
            if (!parse_decimal(o.value) || rrq.mode != transfer_mode::octet || !source_size) continue;
            n.tsize = *source_size;
            n.acknowledged.push_back(option{o.name, std::to_string(*source_size)});
        } else if (names_equal(o.name, "timeout")) {
            if (std::exchange(seen_timeout, true)) continue;
            const auto v = parse_decimal(o.value);
            // Out of range is ignored rather than refused: the option only
            // tunes our retransmission timer, and without it we adapt to the
            // measured round trip, which serves the client at least as well
            // as failing its boot.
            if (!v || *v < min_timeout_s || *v > max_timeout_s) continue;
            n.timeout_s = static_cast<std::uint8_t>(*v);
            n.acknowledged.push_back(option{o.name, std::to_string(*v)});
        } else if (names_equal(o.name, "windowsize")) {
            if (std::exchange(seen_windowsize, true)) continue;
            const auto v = parse_decimal(o.value);
            // 0 has no meaning (RFC 7440 section 3); lock-step works with
            // every client, so ignore rather than refuse.
            if (!v || *v == 0) continue;
            const auto granted = std::min<std::uint64_t>({*v, max_windowsize_rfc, effective_max_windowsize(cfg)});
            n.windowsize = static_cast<std::uint16_t>(granted);
            n.acknowledged.push_back(option{o.name, std::to_string(n.windowsize)});
        }
        // Anything else (multicast, utimeout, vendor options from phones...)
        // is not acknowledged, as RFC 2347 prescribes for unknown options.
    }
    return n;
}

}  // namespace pxed::tftp
