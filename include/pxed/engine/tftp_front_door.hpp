#pragma once
/// Decisions the TFTP server makes outside any transfer: what to do with a
/// datagram that arrived on port 69, and what to answer a packet from a
/// stranger on a transfer's port. Pure functions, no I/O.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
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

/// How the server's transfer slots are shared (docs/security.md, TFTP).
struct share_limits {
    /// Transfers at once, all clients together.
    std::size_t max_transfers = 4096;
    /// Transfers at once from one client address, whatever its ports. A PXE
    /// ROM or boot loader runs one at a time (two while a tsize probe is
    /// being aborted); a host behind NAT shares its router's.
    std::size_t max_per_client = 16;
    /// A refusal is reported at most once per client (and the server-wide
    /// one once) in this long; the next report counts the ones in between.
    std::chrono::steady_clock::duration report_every = std::chrono::seconds(10);
    /// A client over its share gets an ERROR at most this often: the
    /// address may be forged, and each ERROR goes to whoever owns it.
    std::chrono::steady_clock::duration answer_every = std::chrono::seconds(1);
};

enum class admission {
    accept,       ///< start the transfer; release() it when it ends
    server_full,  ///< max_transfers are running
    client_full,  ///< this client has max_per_client running
};

struct admission_decision {
    admission verdict = admission::accept;
    /// For a refusal: log it now. Each limit has its own budget (once per
    /// report_every, per client for client_full), apart from anything else
    /// the server logs, so junk traffic cannot crowd the line out.
    bool report = false;
    /// Refusals of the same kind (and client) not reported since the last
    /// report.
    std::uint64_t held_back = 0;
    /// Transfers running: the client's for client_full, all for server_full.
    std::size_t running = 0;
    /// For a refusal: send the client its ERROR (always for server_full;
    /// for client_full at most once per answer_every).
    bool answer = true;
};

/// Admission control for new transfers: a fair share of the slots per
/// client address, first come first served otherwise. Nothing running is
/// ever evicted, so a storm of distinct clients is served in arrival order
/// up to max_transfers, and one address using many source ports gets
/// max_per_client of them. Pure bookkeeping: no I/O, the time is passed in.
class transfer_shares {
public:
    using clock = std::chrono::steady_clock;

    explicit transfer_shares(share_limits limits = {});

    /// A new request from `client` (an IPv4 address). On accept the
    /// transfer counts as running until release(client).
    admission_decision admit(std::uint32_t client, clock::time_point now);
    void release(std::uint32_t client);

    std::size_t running() const { return running_; }
    std::size_t running(std::uint32_t client) const;
    const share_limits& limits() const { return limits_; }

private:
    struct report_budget {
        std::optional<clock::time_point> last;
        std::uint64_t held_back = 0;
        void refuse(const share_limits& limits, clock::time_point now, admission_decision& d);
    };
    struct share {
        std::size_t running = 0;
        report_budget reports;
        std::optional<clock::time_point> answered;
    };

    void forget_idle(clock::time_point now);
    static constexpr std::size_t idle_sweep_at = 256;

    share_limits limits_;
    std::size_t running_ = 0;
    // Clients with a transfer running, and those refused within
    // report_every (swept by forget_idle).
    std::unordered_map<std::uint32_t, share> clients_;
    report_budget full_reports_;
    std::optional<clock::time_point> last_sweep_;
};

}  // namespace pxed::tftp
