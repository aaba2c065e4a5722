#include "pxed/engine/tftp_front_door.hpp"

namespace pxed::tftp {

namespace {

door_decision refuse(error_code code, std::string reason) {
    door_decision d;
    d.verdict = door_verdict::refuse;
    d.code = code;
    d.reply = encode_error(code, reason);
    d.reason = std::move(reason);
    return d;
}

}  // namespace

door_decision front_door(const decode_result& decoded) {
    if (!decoded.ok()) {
        const auto& e = decoded.error();
        // Only something that is recognisably a request earns an answer; a
        // reply to arbitrary junk would make pxed a reflector for spoofed
        // sources.
        if (e.op == opcode::rrq || e.op == opcode::wrq) {
            return refuse(error_code::illegal_operation, "malformed request: " + std::string(to_string(e.code)));
        }
        return door_decision{};
    }
    const request* r = decoded.get_if<request>();
    // DATA, ACK, ERROR or OACK on port 69 are strays from a finished or
    // foreign transfer (RFC 1350 section 4 only starts transfers here).
    if (!r) return door_decision{};
    if (r->op == opcode::wrq) return refuse(error_code::access_violation, "pxed is read-only");
    switch (r->mode) {
        case transfer_mode::octet:
        case transfer_mode::netascii: {
            door_decision d;
            d.verdict = door_verdict::accept;
            return d;
        }
        case transfer_mode::mail:
            // RFC 1350 section 1: "mail" is obsolete and was never meant for a
            // file server; there is no mailbox to deliver to.
            return refuse(error_code::illegal_operation, "mail mode is not supported");
        case transfer_mode::unknown:
            break;
    }
    return refuse(error_code::illegal_operation, "unknown transfer mode");
}

std::vector<std::uint8_t> unknown_tid_reply() {
    return encode_error(error_code::unknown_tid, default_message(error_code::unknown_tid));
}

}  // namespace pxed::tftp
