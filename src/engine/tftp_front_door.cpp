#include "pxed/engine/tftp_front_door.hpp"

#include <algorithm>

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

transfer_shares::transfer_shares(share_limits limits) : limits_(limits) {
    limits_.max_transfers = std::max<std::size_t>(limits_.max_transfers, 1);
    limits_.max_per_client = std::max<std::size_t>(limits_.max_per_client, 1);
}

void transfer_shares::report_budget::refuse(const share_limits& limits, clock::time_point now,
                                            admission_decision& d) {
    if (!last || now - *last >= limits.report_every) {
        d.report = true;
        d.held_back = held_back;
        held_back = 0;
        last = now;
    } else {
        ++held_back;
    }
}

admission_decision transfer_shares::admit(std::uint32_t client, clock::time_point now) {
    admission_decision d;
    // Idle entries are clients refused within report_every; a client is
    // refused only while it has max_per_client running, so few of them
    // can be recent at once. Swept when they pile up, at most once a
    // second (a sweep walks them all).
    if (clients_.size() > running_ + idle_sweep_at && (!last_sweep_ || now - *last_sweep_ >= std::chrono::seconds(1))) {
        last_sweep_ = now;
        forget_idle(now);
    }
    // The client's own cap first: when both bite, the client over its
    // share is the one to name.
    const auto it = clients_.find(client);
    if (it != clients_.end() && it->second.running >= limits_.max_per_client) {
        auto& sh = it->second;
        d.verdict = admission::client_full;
        d.running = sh.running;
        sh.reports.refuse(limits_, now, d);
        // One address asking again and again while its share is taken: a
        // forged flood's victim, or a client that will retry on its own.
        d.answer = !sh.answered || now - *sh.answered >= limits_.answer_every;
        if (d.answer) sh.answered = now;
        return d;
    }
    if (running_ >= limits_.max_transfers) {
        d.verdict = admission::server_full;
        d.running = running_;
        full_reports_.refuse(limits_, now, d);
        return d;
    }
    ++clients_[client].running;
    ++running_;
    d.running = running_;
    return d;
}

void transfer_shares::release(std::uint32_t client) {
    const auto it = clients_.find(client);
    if (it == clients_.end() || it->second.running == 0) return;
    --running_;
    // Forgotten with its last transfer, unless it was refused lately: its
    // report budget must outlive a batch of transfers, or a client whose
    // transfers end quickly would be reported for each batch.
    if (--it->second.running == 0 && !it->second.reports.last) clients_.erase(it);
}

void transfer_shares::forget_idle(clock::time_point now) {
    for (auto it = clients_.begin(); it != clients_.end();) {
        const auto& sh = it->second;
        if (sh.running == 0 && (!sh.reports.last || now - *sh.reports.last >= limits_.report_every))
            it = clients_.erase(it);
        else
            ++it;
    }
}

std::size_t transfer_shares::running(std::uint32_t client) const {
    const auto it = clients_.find(client);
    return it == clients_.end() ? 0 : it->second.running;
}

}  // namespace pxed::tftp
