#include "pxed/app/lease_report.hpp"

#include <ctime>
#include <sstream>

#include "pxed/wire/text.hpp"

namespace pxed::app {
namespace {

std::string json_string(const std::string& s) {
    std::string out;
    wire::append_json_string(out, s);
    return out;
}

std::string local_time(std::int64_t t) {
    if (t == 0) return "never";
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    localtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

std::string who(const store::lease& l) {
    if (l.mac) return l.mac->to_string();
    if (l.client_key.empty()) return "-";
    return "id " + wire::hex_encode(l.client_key);
}

}  // namespace

std::string effective_state(const store::lease& l, std::int64_t now) {
    if (l.state == store::lease_state::bound && l.ends != 0 && l.ends <= now) return "expired";
    return store::to_string(l.state);
}

std::string leases_table(const std::vector<store::lease>& leases, std::int64_t now) {
    std::ostringstream out;
    char line[256];
    std::snprintf(line, sizeof line, "%-15s  %-17s  %-20s  %-8s  %-19s  %s\n", "IP", "CLIENT", "HOSTNAME", "STATE",
                  "ENDS", "SUBNET");
    out << line;
    for (const auto& l : leases) {
        const auto host = wire::escape_for_log(l.hostname.empty() ? std::string("-") : l.hostname);
        std::snprintf(line, sizeof line, "%-15s  %-17s  %-20s  %-8s  %-19s  %s\n", l.ip.to_string().c_str(),
                      who(l).c_str(), host.c_str(), effective_state(l, now).c_str(), local_time(l.ends).c_str(),
                      l.subnet.c_str());
        out << line;
    }
    return out.str();
}

std::string leases_json(const std::vector<store::lease>& leases, std::int64_t now) {
    std::string out = "[";
    bool first = true;
    for (const auto& l : leases) {
        out += first ? "\n  {" : ",\n  {";
        first = false;
        out += "\"ip\": " + json_string(l.ip.to_string());
        out += ", \"mac\": " + (l.mac ? json_string(l.mac->to_string()) : std::string("null"));
        if (!l.mac && !l.client_key.empty()) out += ", \"client_id\": " + json_string(wire::hex_encode(l.client_key));
        out += ", \"hostname\": " + json_string(l.hostname);
        out += ", \"state\": " + json_string(effective_state(l, now));
        out += ", \"starts\": " + std::to_string(l.starts);
        out += ", \"ends\": " + std::to_string(l.ends);
        out += ", \"subnet\": " + json_string(l.subnet) + "}";
    }
    out += first ? "]" : "\n]";
    return out + "\n";
}

}  // namespace pxed::app
