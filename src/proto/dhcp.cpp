#include "pxed/proto/dhcp.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>

#include "pxed/wire/bytes.hpp"

namespace pxed::dhcp {

namespace {

// RFC 2131 section 2, figure 1.
constexpr std::size_t sname_offset = 44;
constexpr std::size_t file_offset = 108;
constexpr std::size_t cookie_offset = 236;

constexpr std::uint8_t pad_code = code_of(option_code::pad);
constexpr std::uint8_t end_code = code_of(option_code::end);
constexpr std::uint8_t overload_code = code_of(option_code::overload);

std::string_view up_to_nul(std::string_view s) { return s.substr(0, s.find('\0')); }

std::string field_string(const std::uint8_t* p, std::size_t n) {
    const auto* nul = static_cast<const std::uint8_t*>(std::memchr(p, 0, n));
    return std::string(reinterpret_cast<const char*>(p), nul ? static_cast<std::size_t>(nul - p) : n);
}

// Gathers the options of one message across its fields: every instance of a
// code is appended to the first one (RFC 3396), and codes keep the
// order of their first appearance.
class option_collector {
public:
    explicit option_collector(std::vector<option>& out) : out_(out) { index_.fill(none); }

    void add(std::uint8_t code, const std::uint8_t* value, std::size_t len) {
        if (index_[code] == none) {
            index_[code] = out_.size();
            out_.push_back(option{code, {}});
        }
        auto& v = out_[index_[code]].value;
        v.insert(v.end(), value, value + len);
    }

private:
    static constexpr std::size_t none = std::numeric_limits<std::size_t>::max();
    std::vector<option>& out_;
    std::array<std::size_t, 256> index_;
};

// One field's worth of options, data[begin, end). Returns an error, or
// nullopt with the options added to `out`.
std::optional<decode_error> parse_field(const std::uint8_t* data, std::size_t begin, std::size_t end,
                                        bool options_field, option_collector& out, decode_quirks& quirks,
                                        overload_fields& overload) {
    wire::byte_reader in(data + begin, end - begin);
    while (!in.at_end()) {
        const std::size_t at = begin + in.offset();
        std::uint8_t code = 0;
        in.read_u8(code);
        if (code == pad_code) continue;
        if (code == end_code) {
            // RFC 2132 3.2 wants pad after end, but only says SHOULD. The
            // BDCOM P3608 GPON OLT relays requests padded with 0xff after
            // end (insomniacslk/dhcp PR #265), and other clients leave
            // buffer garbage there. Nothing after end means anything, so it
            // is counted and ignored rather than costing the client its
            // lease.
            const std::size_t rest = in.remaining();
            const std::uint8_t* tail = nullptr;
            in.read_bytes(rest, tail);
            quirks.garbage_after_end +=
                static_cast<std::size_t>(std::count_if(tail, tail + rest, [](std::uint8_t b) { return b != 0; }));
            return std::nullopt;
        }
        std::uint8_t len = 0;
        const std::uint8_t* value = nullptr;
        if (!in.read_u8(len) || !in.read_bytes(len, value)) {
            // A cut option is refused, not dropped: a client id or relay
            // option missing its tail would identify the wrong client, and
            // nothing says the cut one is the last that was meant. ISC
            // dhcpd drops such packets too (parse_option_buffer).
            return decode_error{decode_errc::option_truncated, at};
        }
        if (code == overload_code) {
            // RFC 2131 4.1: option 52 lives in the options field, once.
            if (!options_field || overload != overload_fields::none || len != 1 || value[0] < 1 || value[0] > 3) {
                return decode_error{decode_errc::bad_overload, at};
            }
            overload = static_cast<overload_fields>(value[0]);
            continue;
        }
        // Zero-length options are well formed (RFC 4039 rapid commit is
        // always empty), and some clients send empty ones that should not
        // be: the Somfy Alarm Link sends an empty host name
        // (TechnitiumSoftware/DnsServer issue #1951). Keep them; the typed
        // accessors treat an empty string as absent.
        if (len == 0) {
            const option_def* def = find_option_def(code);
            if (def != nullptr && def->min_length > 0) ++quirks.empty_options;
        }
        out.add(code, value, len);
    }
    // RFC 2131 4.1: "The last option must always be the 'end' option." Some
    // clients never write one: the monitoring-plugins check_dhcp probe
    // (monitoring-plugins issue #686) and the Cosa Arduino DHCP client
    // (mikaelpatel/Cosa PR #237) among them. When the options before it
    // parse up to the last octet of the field, nothing is lost by
    // accepting them.
    quirks.missing_end = true;
    return std::nullopt;
}

std::uint16_t read_be16(const std::vector<std::uint8_t>& v, std::size_t at) {
    return static_cast<std::uint16_t>(v[at] << 8 | v[at + 1]);
}

std::uint32_t read_be32(const std::vector<std::uint8_t>& v) {
    std::uint32_t out = 0;
    wire::byte_reader(v.data(), v.size()).read_u32(out);
    return out;
}

// The option's value when it is well formed for its row of the table.
const std::vector<std::uint8_t>* valid_value(const message& m, option_code code) {
    const option* o = m.find(code);
    const option_def* def = find_option_def(code);
    if (o == nullptr || def == nullptr || !value_valid(*def, o->value)) return nullptr;
    return &o->value;
}

std::optional<std::string> string_value(const message& m, option_code code) {
    const auto* v = valid_value(m, code);
    if (v == nullptr) return std::nullopt;
    std::string s(v->begin(), v->end());
    // RFC 2132 section 2: NVT ASCII options SHOULD NOT end in NUL, but a
    // receiver "MUST be prepared to delete trailing nulls if they exist".
    while (!s.empty() && s.back() == '\0') s.pop_back();
    if (s.empty()) return std::nullopt;
    return s;
}

std::optional<wire::ipv4_address> ipv4_value(const message& m, option_code code) {
    const auto* v = valid_value(m, code);
    if (v == nullptr) return std::nullopt;
    return wire::ipv4_address{read_be32(*v)};
}

// --- encoding --------------------------------------------------------------

// One instance of an option on the wire: at most 255 octets of its value.
struct chunk {
    std::uint8_t code;
    const std::uint8_t* data;
    std::size_t len;
};

enum class field { options, file, sname };

struct area {
    area(field w, std::size_t cap) : where(w), capacity(cap) {}

    field where;
    std::size_t capacity;  // octets for options, the end option excluded
    std::size_t used = 0;
    std::vector<std::size_t> chunks;
};

// RFC 3396 section 5 concatenates the instances of an option in field order
// (options, file, sname), so no instance may land in an earlier field than
// the one before it. First fit guarantees that without tracking anything:
// every instance but an option's last is a full 257 octets, which only the
// options field can hold.
static_assert(file_size - 1 < 2 + 255 && sname_size - 1 < 2 + 255,
              "file and sname must be too small for a full 255-octet option instance");

// First fit, in order: each instance goes to the first field with room for
// it, so later small options fill what earlier large ones left. Returns the
// code of the first instance that fits nowhere. Deterministic, and decode()
// lists options in field order, so encoding a decoded message reproduces
// the same layout.
std::optional<std::uint8_t> place(const std::vector<chunk>& chunks, std::vector<area>& areas) {
    for (std::size_t i = 0; i < chunks.size(); ++i) {
        const std::size_t need = 2 + chunks[i].len;
        std::size_t a = 0;
        while (a < areas.size() && areas[a].capacity - areas[a].used < need) ++a;
        if (a == areas.size()) return chunks[i].code;
        areas[a].used += need;
        areas[a].chunks.push_back(i);
    }
    return std::nullopt;
}

void put_chunks(wire::byte_writer& w, const std::vector<chunk>& chunks, const area& a) {
    for (const std::size_t i : a.chunks) {
        const chunk& c = chunks[i];
        w.put_u8(c.code);
        w.put_u8(static_cast<std::uint8_t>(c.len));
        if (c.len != 0) w.put_bytes(c.data, c.len);
    }
}

// The sname or file field: its string, or the options overloaded into it,
// end, and pad to the field's size (RFC 2131 4.1).
void put_field(wire::byte_writer& w, std::string_view text, std::size_t size, const std::vector<chunk>& chunks,
               const area* overloaded) {
    const std::size_t start = w.size();
    if (overloaded != nullptr) {
        put_chunks(w, chunks, *overloaded);
        w.put_u8(end_code);
    } else {
        w.put_string(text);
    }
    w.put_zeros(size - (w.size() - start));
}

}  // namespace

std::string to_string(message_type t) {
    switch (static_cast<std::uint8_t>(t)) {
        case 1: return "DHCPDISCOVER";
        case 2: return "DHCPOFFER";
        case 3: return "DHCPREQUEST";
        case 4: return "DHCPDECLINE";
        case 5: return "DHCPACK";
        case 6: return "DHCPNAK";
        case 7: return "DHCPRELEASE";
        case 8: return "DHCPINFORM";
        case 9: return "DHCPFORCERENEW";          // RFC 3203
        case 10: return "DHCPLEASEQUERY";         // RFC 4388
        case 11: return "DHCPLEASEUNASSIGNED";    // RFC 4388
        case 12: return "DHCPLEASEUNKNOWN";       // RFC 4388
        case 13: return "DHCPLEASEACTIVE";        // RFC 4388
        case 14: return "DHCPBULKLEASEQUERY";     // RFC 6926
        case 15: return "DHCPLEASEQUERYDONE";     // RFC 6926
        case 16: return "DHCPACTIVELEASEQUERY";   // RFC 7724
        case 17: return "DHCPLEASEQUERYSTATUS";   // RFC 7724
        case 18: return "DHCPTLS";                // RFC 7724
    }
    return "DHCP(" + std::to_string(static_cast<unsigned>(t)) + ")";
}

boot_firmware classify(client_arch arch) {
    switch (arch) {
        case client_arch::x86_bios: return boot_firmware::bios;
        case client_arch::efi_ia32: return boot_firmware::uefi_ia32;
        case client_arch::efi_bc:
        case client_arch::efi_x86_64: return boot_firmware::uefi_x64;
        case client_arch::efi_arm64: return boot_firmware::uefi_arm64;
        case client_arch::efi_x86_64_http: return boot_firmware::uefi_x64_http;
        case client_arch::efi_arm64_http: return boot_firmware::uefi_arm64_http;
        default: return boot_firmware::unknown;
    }
}

std::string_view to_string(boot_firmware f) {
    switch (f) {
        case boot_firmware::bios: return "bios";
        case boot_firmware::uefi_ia32: return "uefi-ia32";
        case boot_firmware::uefi_x64: return "uefi-x64";
        case boot_firmware::uefi_arm64: return "uefi-arm64";
        case boot_firmware::uefi_x64_http: return "uefi-x64-http";
        case boot_firmware::uefi_arm64_http: return "uefi-arm64-http";
        case boot_firmware::unknown: return "unknown";
    }
    return "unknown";
}

std::optional<client_arch> arch_from_vendor_class(std::string_view vendor_class) {
    // PXE 2.1 section 2.2.5 and the UEFI specification's HTTP boot chapter:
    // "PXEClient:Arch:xxxxx:UNDI:yyyzzz" and "HTTPClient:Arch:xxxxx...".
    for (const std::string_view prefix : {std::string_view("PXEClient:Arch:"), std::string_view("HTTPClient:Arch:")}) {
        if (vendor_class.substr(0, prefix.size()) != prefix) continue;
        const std::string_view rest = vendor_class.substr(prefix.size());
        if (rest.size() < 5 || (rest.size() > 5 && rest[5] != ':')) return std::nullopt;
        const std::string_view digits = rest.substr(0, 5);
        if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            return std::nullopt;
        }
        unsigned v = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
        if (ec != std::errc() || end != digits.data() + digits.size() || v > 0xffff) return std::nullopt;
        return static_cast<client_arch>(v);
    }
    return std::nullopt;
}

// --- message ---------------------------------------------------------------

void message::set_broadcast(bool on) {
    const unsigned bits = on ? flags | broadcast_flag : flags & ~unsigned{broadcast_flag};
    flags = static_cast<std::uint16_t>(bits);
}

std::optional<wire::mac_address> message::mac() const {
    if (htype != hardware_type::ethernet || hlen != wire::mac_address::length) return std::nullopt;
    wire::mac_address::bytes_type b{};
    std::copy(chaddr.begin(), chaddr.begin() + b.size(), b.begin());
    return wire::mac_address{b};
}

void message::set_mac(const wire::mac_address& mac) {
    htype = hardware_type::ethernet;
    hlen = wire::mac_address::length;
    chaddr.fill(0);
    std::copy(mac.bytes().begin(), mac.bytes().end(), chaddr.begin());
}

std::vector<std::uint8_t> message::hardware_address() const {
    const std::size_t n = std::min<std::size_t>(hlen, chaddr_size);
    return std::vector<std::uint8_t>(chaddr.begin(), chaddr.begin() + n);
}

const option* message::find(std::uint8_t code) const {
    for (const auto& o : options) {
        if (o.code == code) return &o;
    }
    return nullptr;
}

void message::set(std::uint8_t code, std::vector<std::uint8_t> value) {
    for (auto& o : options) {
        if (o.code == code) {
            o.value = std::move(value);
            return;
        }
    }
    options.push_back(option{code, std::move(value)});
}

bool message::erase(std::uint8_t code) {
    const auto it = std::find_if(options.begin(), options.end(), [code](const option& o) { return o.code == code; });
    if (it == options.end()) return false;
    options.erase(it);
    return true;
}

void message::set_u8(option_code code, std::uint8_t v) { set(code, {v}); }

void message::set_u16(option_code code, std::uint16_t v) {
    std::vector<std::uint8_t> b;
    wire::byte_writer(b).put_u16(v);
    set(code, std::move(b));
}

void message::set_u32(option_code code, std::uint32_t v) {
    std::vector<std::uint8_t> b;
    wire::byte_writer(b).put_u32(v);
    set(code, std::move(b));
}

void message::set_ipv4(option_code code, wire::ipv4_address a) { set_u32(code, a.value()); }

void message::set_ipv4_list(option_code code, const std::vector<wire::ipv4_address>& list) {
    std::vector<std::uint8_t> b;
    wire::byte_writer w(b);
    for (const auto a : list) w.put_u32(a.value());
    set(code, std::move(b));
}

void message::set_string(option_code code, std::string_view s) {
    set(code, std::vector<std::uint8_t>(s.begin(), s.end()));
}

std::optional<message_type> message::message_type() const {
    const auto* v = valid_value(*this, option_code::message_type);
    if (v == nullptr || (*v)[0] == 0) return std::nullopt;
    return static_cast<dhcp::message_type>((*v)[0]);
}

std::optional<wire::ipv4_address> message::requested_ip() const {
    return ipv4_value(*this, option_code::requested_address);
}

std::optional<wire::ipv4_address> message::server_id() const {
    return ipv4_value(*this, option_code::server_identifier);
}

std::vector<std::uint8_t> message::parameter_request_list() const {
    const auto* v = valid_value(*this, option_code::parameter_request_list);
    return v ? *v : std::vector<std::uint8_t>{};
}

bool message::requests(option_code code) const {
    const auto prl = parameter_request_list();
    return std::find(prl.begin(), prl.end(), code_of(code)) != prl.end();
}

std::optional<std::uint16_t> message::max_message_size() const {
    const auto* v = valid_value(*this, option_code::max_message_size);
    if (v == nullptr) return std::nullopt;
    return read_be16(*v, 0);
}

std::optional<std::uint32_t> message::lease_time() const {
    const auto* v = valid_value(*this, option_code::lease_time);
    if (v == nullptr) return std::nullopt;
    return read_be32(*v);
}

std::optional<std::string> message::hostname() const { return string_value(*this, option_code::host_name); }

std::optional<std::string> message::vendor_class() const {
    return string_value(*this, option_code::vendor_class_identifier);
}

std::vector<std::string> message::user_class() const {
    const auto* v = valid_value(*this, option_code::user_class);
    if (v == nullptr) return {};
    std::vector<std::string> classes;
    std::size_t pos = 0;
    while (pos < v->size()) {
        const std::size_t len = (*v)[pos];
        if (len == 0 || len > v->size() - pos - 1) {
            // Not RFC 3004 framing: the whole value is one class name, the
            // way iPXE ("iPXE") and other pre-RFC 3004 clients send it.
            return {std::string(v->begin(), v->end())};
        }
        classes.emplace_back(v->begin() + static_cast<std::ptrdiff_t>(pos + 1),
                             v->begin() + static_cast<std::ptrdiff_t>(pos + 1 + len));
        pos += 1 + len;
    }
    return classes;
}

std::optional<std::vector<std::uint8_t>> message::client_id() const {
    const auto* v = valid_value(*this, option_code::client_identifier);
    if (v == nullptr) return std::nullopt;
    return *v;
}

std::vector<client_arch> message::client_arch() const {
    const auto* v = valid_value(*this, option_code::client_system_architecture);
    std::vector<dhcp::client_arch> out;
    if (v == nullptr) return out;
    for (std::size_t at = 0; at + 1 < v->size(); at += 2) {
        out.push_back(static_cast<dhcp::client_arch>(read_be16(*v, at)));
    }
    return out;
}

std::optional<network_interface_id> message::client_ndi() const {
    const auto* v = valid_value(*this, option_code::client_ndi);
    if (v == nullptr) return std::nullopt;
    return network_interface_id{(*v)[0], (*v)[1], (*v)[2]};
}

std::optional<std::array<std::uint8_t, 16>> message::client_uuid() const {
    const auto* v = valid_value(*this, option_code::client_machine_id);
    if (v == nullptr) return std::nullopt;
    std::array<std::uint8_t, 16> uuid{};
    std::copy(v->begin() + 1, v->end(), uuid.begin());
    return uuid;
}

std::optional<std::vector<option>> message::relay_agent_info() const {
    const auto* v = valid_value(*this, option_code::relay_agent_information);
    if (v == nullptr) return std::nullopt;
    return parse_sub_options(*v, sub_option_format::strict);
}

std::optional<wire::ipv4_address> message::link_selection() const {
    const auto rai = relay_agent_info();
    if (!rai) return std::nullopt;
    const auto* ls = find_sub_option(*rai, relay_sub_option::link_selection);
    if (ls == nullptr || ls->value.size() != 4) return std::nullopt;
    return wire::ipv4_address{read_be32(ls->value)};
}

std::optional<std::vector<option>> message::ipxe_options() const {
    const auto* v = valid_value(*this, option_code::ipxe_encapsulated);
    if (v == nullptr) return std::nullopt;
    return parse_sub_options(*v, sub_option_format::options_like);
}

bool message::has_ipxe() const {
    if (find(option_code::ipxe_encapsulated) != nullptr) return true;
    const auto classes = user_class();
    return std::find(classes.begin(), classes.end(), "iPXE") != classes.end();
}

boot_firmware message::firmware() const {
    const auto arches = client_arch();
    if (!arches.empty()) return classify(arches.front());
    if (const auto vc = vendor_class()) {
        if (const auto arch = arch_from_vendor_class(*vc)) return classify(*arch);
    }
    return boot_firmware::unknown;
}

bool operator==(const message& a, const message& b) {
    return a.op == b.op && a.htype == b.htype && a.hlen == b.hlen && a.hops == b.hops && a.xid == b.xid &&
           a.secs == b.secs && a.flags == b.flags && a.ciaddr == b.ciaddr && a.yiaddr == b.yiaddr &&
           a.siaddr == b.siaddr && a.giaddr == b.giaddr && a.chaddr == b.chaddr && a.sname == b.sname &&
           a.file == b.file && a.options == b.options;
}

// --- decode ----------------------------------------------------------------

std::string_view to_string(decode_errc code) {
    switch (code) {
        case decode_errc::truncated: return "shorter than a BOOTP header and magic cookie";
        case decode_errc::bad_op: return "op is neither BOOTREQUEST nor BOOTREPLY";
        case decode_errc::bad_cookie: return "unknown magic cookie";
        case decode_errc::option_truncated: return "option runs past the end of its field";
        case decode_errc::bad_overload: return "malformed option overload";
    }
    return "malformed message";
}

decode_result decode(const std::uint8_t* data, std::size_t size) {
    if (size < options_offset) return decode_error{decode_errc::truncated, size};

    wire::byte_reader in(data, size);
    message m;
    std::uint8_t op = 0, htype = 0, hlen = 0, hops = 0;
    std::uint32_t ciaddr = 0, yiaddr = 0, siaddr = 0, giaddr = 0, cookie = 0;
    const std::uint8_t* chaddr = nullptr;
    const std::uint8_t* sname = nullptr;
    const std::uint8_t* file = nullptr;
    // The size check above covers every read up to the cookie.
    in.read_u8(op);
    in.read_u8(htype);
    in.read_u8(hlen);
    in.read_u8(hops);
    in.read_u32(m.xid);
    in.read_u16(m.secs);
    in.read_u16(m.flags);
    in.read_u32(ciaddr);
    in.read_u32(yiaddr);
    in.read_u32(siaddr);
    in.read_u32(giaddr);
    in.read_bytes(chaddr_size, chaddr);
    in.read_bytes(sname_size, sname);
    in.read_bytes(file_size, file);
    in.read_u32(cookie);

    if (op != 1 && op != 2) return decode_error{decode_errc::bad_op, 0};
    m.op = static_cast<op_code>(op);
    m.htype = static_cast<hardware_type>(htype);
    m.hlen = hlen;
    m.hops = hops;
    m.ciaddr = wire::ipv4_address{ciaddr};
    m.yiaddr = wire::ipv4_address{yiaddr};
    m.siaddr = wire::ipv4_address{siaddr};
    m.giaddr = wire::ipv4_address{giaddr};
    std::copy(chaddr, chaddr + chaddr_size, m.chaddr.begin());
    m.sname = field_string(sname, sname_size);
    m.file = field_string(file, file_size);

    decode_quirks quirks;
    // chaddr has 16 octets whatever hlen claims. A larger hlen cannot be
    // honoured, but the rest of the message can: such a client is known by
    // its client id (option 61), which is how RFC 4390 identifies the
    // InfiniBand clients whose 20-octet addresses do not fit chaddr either.
    if (hlen > chaddr_size) quirks.oversized_hlen = true;

    if (cookie != magic_cookie) {
        // RFC 951 had no cookie, and RFC 1542 3.5 only RECOMMENDS one: a
        // vend field starting with zeros is an old BOOTP client with nothing
        // to say. Any other value is a vendor format we cannot read.
        if (cookie != 0) return decode_error{decode_errc::bad_cookie, cookie_offset};
        quirks.no_magic_cookie = true;
        return decode_result(std::move(m), quirks, overload_fields::none);
    }

    option_collector out(m.options);
    auto overload = overload_fields::none;
    if (auto err = parse_field(data, options_offset, size, true, out, quirks, overload)) return *err;
    // RFC 3396 section 5's aggregate option buffer: options field, then
    // file, then sname. Options in a field mean the field holds no name.
    const auto bits = static_cast<std::uint8_t>(overload);
    if (bits & static_cast<std::uint8_t>(overload_fields::file)) {
        if (auto err = parse_field(data, file_offset, file_offset + file_size, false, out, quirks, overload)) {
            return *err;
        }
        m.file.clear();
    }
    if (bits & static_cast<std::uint8_t>(overload_fields::sname)) {
        if (auto err = parse_field(data, sname_offset, sname_offset + sname_size, false, out, quirks, overload)) {
            return *err;
        }
        m.sname.clear();
    }
    return decode_result(std::move(m), quirks, overload);
}

// --- encode ----------------------------------------------------------------

std::size_t max_reply_size(const message& request) {
    const auto requested = request.max_message_size();
    return requested && *requested >= default_max_message_size ? *requested : default_max_message_size;
}

std::string_view to_string(encode_errc code) {
    switch (code) {
        case encode_errc::reserved_option: return "pad, overload and end are written by the encoder";
        case encode_errc::duplicate_option: return "option given twice";
        case encode_errc::sname_too_long: return "server name longer than the 64-octet sname field";
        case encode_errc::file_too_long: return "file name longer than the 128-octet file field";
        case encode_errc::does_not_fit: return "options do not fit the maximum message size";
    }
    return "cannot encode";
}

encode_result encode(const message& m, const encode_options& opts) {
    const std::string_view sname = up_to_nul(m.sname);
    const std::string_view file = up_to_nul(m.file);
    if (sname.size() > sname_size) return encode_error{encode_errc::sname_too_long, 0};
    if (file.size() > file_size) return encode_error{encode_errc::file_too_long, 0};

    std::array<bool, 256> seen{};
    std::vector<chunk> chunks;
    chunks.reserve(m.options.size() + 4);
    for (const option& o : m.options) {
        if (o.code == pad_code || o.code == overload_code || o.code == end_code) {
            return encode_error{encode_errc::reserved_option, o.code};
        }
        if (seen[o.code]) return encode_error{encode_errc::duplicate_option, o.code};
        seen[o.code] = true;
        if (o.value.empty()) chunks.push_back(chunk{o.code, nullptr, 0});
        // RFC 3396: a value over 255 octets becomes consecutive instances
        // of the same code.
        for (std::size_t pos = 0; pos < o.value.size(); pos += 255) {
            chunks.push_back(chunk{o.code, o.value.data() + pos, std::min<std::size_t>(255, o.value.size() - pos)});
        }
    }

    const std::size_t limit = std::max(opts.max_message_size, default_max_message_size) - ip_udp_overhead;
    const std::size_t room = limit - options_offset;  // options field, end included

    std::vector<area> areas{area{field::options, room - 1}};
    auto overflow = place(chunks, areas);
    if (overflow) {
        if (!opts.allow_overload || (!file.empty() && !sname.empty())) {
            return encode_error{encode_errc::does_not_fit, *overflow};
        }
        // Three octets of the options field go to option 52 itself.
        areas = {area{field::options, room - 1 - 3}};
        if (file.empty()) areas.push_back(area{field::file, file_size - 1});
        if (sname.empty()) areas.push_back(area{field::sname, sname_size - 1});
        overflow = place(chunks, areas);
        if (overflow) return encode_error{encode_errc::does_not_fit, *overflow};
    }

    const area* file_area = nullptr;
    const area* sname_area = nullptr;
    std::uint8_t overload_bits = 0;
    for (const auto& a : areas) {
        if (a.chunks.empty()) continue;
        if (a.where == field::file) {
            file_area = &a;
            overload_bits |= static_cast<std::uint8_t>(overload_fields::file);
        }
        if (a.where == field::sname) {
            sname_area = &a;
            overload_bits |= static_cast<std::uint8_t>(overload_fields::sname);
        }
    }

    std::vector<std::uint8_t> bytes;
    bytes.reserve(std::max(bootp_min_size, options_offset + areas.front().used + 4));
    wire::byte_writer w(bytes);
    w.put_u8(static_cast<std::uint8_t>(m.op));
    w.put_u8(static_cast<std::uint8_t>(m.htype));
    w.put_u8(m.hlen);
    w.put_u8(m.hops);
    w.put_u32(m.xid);
    w.put_u16(m.secs);
    w.put_u16(m.flags);
    w.put_u32(m.ciaddr.value());
    w.put_u32(m.yiaddr.value());
    w.put_u32(m.siaddr.value());
    w.put_u32(m.giaddr.value());
    w.put_bytes(m.chaddr.data(), m.chaddr.size());
    put_field(w, sname, sname_size, chunks, sname_area);
    put_field(w, file, file_size, chunks, file_area);
    w.put_u32(magic_cookie);
    put_chunks(w, chunks, areas.front());
    if (overload_bits != 0) {
        w.put_u8(overload_code);
        w.put_u8(1);
        w.put_u8(overload_bits);
    }
    w.put_u8(end_code);
    // RFC 1542 2.1. The padding comes after end, as pad options (RFC 2132
    // 3.2): older U-Boot logs every pad it meets before end
    // (insomniacslk/dhcp PR #408).
    if (w.size() < bootp_min_size) w.put_zeros(bootp_min_size - w.size());
    return encode_result(std::move(bytes), static_cast<overload_fields>(overload_bits));
}

}  // namespace pxed::dhcp
