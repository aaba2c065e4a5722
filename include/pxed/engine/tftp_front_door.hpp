#pragma once
/// Decisions the TFTP server makes outside any transfer: what to do with a
/// datagram that arrived on port 69, and what to answer a packet from a
/// stranger on a transfer's port. Pure functions, no I/O.

#include <cstdint>
#include <string>
#include <vector>

#include "pxed/proto/tftp.hpp"

namespace pxed::tftp {

enum class door_verdict {
    accept,  ///< a read request we will serve: construct a read_transfer
    refuse,  ///< answer `reply` (an ERROR packet) from a fresh port, then forget the client
    drop,    ///< not a request at all: no answer (keeps pxed from being a reflector)
};

struct door_decision {
    door_verdict verdict = door_verdict::drop;
    error_code code = error_code::not_defined;  ///< for refuse
    std::string reason;                         ///< for refuse: what the ERROR says; safe to log as is
    std::vector<std::uint8_t> reply;            ///< for refuse: the encoded ERROR packet
};

/// The port 69 "front door":
/// - RRQ in octet or netascii mode: accept (options are the transfer's business);
/// - WRQ: ERROR 2, pxed is read-only;
/// - mode "mail" (obsolete, RFC 1350) or an unknown mode: ERROR 4;
/// - a malformed RRQ/WRQ: ERROR 4 naming what is wrong;
/// - anything else (DATA, ACK, ERROR, OACK, unknown opcode, runt): drop.
door_decision front_door(const decode_result& decoded);

/// RFC 1350 section 4: a packet from an unexpected source TID on a
/// transfer's port gets ERROR 5 sent back to that source, and the transfer
/// carries on untouched.
std::vector<std::uint8_t> unknown_tid_reply();

}  // namespace pxed::tftp
