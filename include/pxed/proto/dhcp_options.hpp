#pragma once
/// DHCPv4 option metadata as one data table (the idea of Kea's
/// std_option_defs.h, without its class hierarchy): for each option pxed
/// knows, its code, its name, and the shape of its value. The codec keeps
/// option values as raw bytes; this table says what those bytes should look
/// like, turns them into text for logs and turns configuration text into
/// them. No I/O, no logging, nothing here throws on bytes from the wire.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pxed::dhcp {

/// Option codes pxed refers to by name. Any other code 1-254 can still be
/// carried as raw bytes.
enum class option_code : std::uint8_t {
    pad = 0,                        ///< RFC 2132 section 3.1
    subnet_mask = 1,                ///< RFC 2132 section 3.3
    time_offset = 2,                ///< RFC 2132 section 3.4
    routers = 3,                    ///< RFC 2132 section 3.5
    domain_name_servers = 6,        ///< RFC 2132 section 3.8
    host_name = 12,                 ///< RFC 2132 section 3.14
    boot_size = 13,                 ///< RFC 2132 section 3.15
    domain_name = 15,               ///< RFC 2132 section 3.17
    root_path = 17,                 ///< RFC 2132 section 3.19
    interface_mtu = 26,             ///< RFC 2132 section 5.1
    broadcast_address = 28,         ///< RFC 2132 section 5.3
    ntp_servers = 42,               ///< RFC 2132 section 8.3
    vendor_encapsulated = 43,       ///< RFC 2132 section 8.4
    requested_address = 50,         ///< RFC 2132 section 9.1
    lease_time = 51,                ///< RFC 2132 section 9.2
    overload = 52,                  ///< RFC 2132 section 9.3
    message_type = 53,              ///< RFC 2132 section 9.6
    server_identifier = 54,         ///< RFC 2132 section 9.7
    parameter_request_list = 55,    ///< RFC 2132 section 9.8
    message = 56,                   ///< RFC 2132 section 9.9
    max_message_size = 57,          ///< RFC 2132 section 9.10
    renewal_time = 58,              ///< RFC 2132 section 9.11 (T1)
    rebinding_time = 59,            ///< RFC 2132 section 9.12 (T2)
    vendor_class_identifier = 60,   ///< RFC 2132 section 9.13
    client_identifier = 61,         ///< RFC 2132 section 9.14
    tftp_server_name = 66,          ///< RFC 2132 section 9.4
    bootfile_name = 67,             ///< RFC 2132 section 9.5
    user_class = 77,                ///< RFC 3004
    rapid_commit = 80,              ///< RFC 4039: always empty
    client_fqdn = 81,               ///< RFC 4702
    relay_agent_information = 82,   ///< RFC 3046
    client_system_architecture = 93,  ///< RFC 4578 section 2.1
    client_ndi = 94,                ///< RFC 4578 section 2.2
    client_machine_id = 97,         ///< RFC 4578 section 2.3 (UUID/GUID)
    domain_search = 119,            ///< RFC 3397 (DNS wire format)
    classless_static_routes = 121,  ///< RFC 3442
    ipxe_encapsulated = 175,        ///< iPXE encapsulated options (IANA: tentatively assigned to Etherboot)
    pxelinux_magic = 208,           ///< RFC 5071 section 4
    pxelinux_configfile = 209,      ///< RFC 5071 section 5
    pxelinux_pathprefix = 210,      ///< RFC 5071 section 6
    pxelinux_reboottime = 211,      ///< RFC 5071 section 7
    end = 255,                      ///< RFC 2132 section 3.2
};

constexpr std::uint8_t code_of(option_code c) { return static_cast<std::uint8_t>(c); }

/// RFC 3046 section 2.0 relay agent sub-options, and later ones.
enum class relay_sub_option : std::uint8_t {
    circuit_id = 1,          ///< RFC 3046 section 3.1
    remote_id = 2,           ///< RFC 3046 section 3.2
    link_selection = 5,      ///< RFC 3527
    subscriber_id = 6,       ///< RFC 3993
    vendor_specific = 9,     ///< RFC 4243
    server_id_override = 11, ///< RFC 5107
};

/// PXE 2.1 section 2.4.3 (table 2-1): PXE vendor options, carried in option
/// 43 when option 60 is "PXEClient".
enum class pxe_sub_option : std::uint8_t {
    discovery_control = 6,  ///< PXE_DISCOVERY_CONTROL, one octet of bits
};

/// PXE_DISCOVERY_CONTROL bit 3 (PXE 2.1 table 2-1): "download the boot file
/// in the offer" (the file and siaddr of this reply), no boot server
/// discovery. Without it an EDK2 (OVMF) PXE client reads "PXEClient" as a
/// BINL offer, asks next-server:4011 for the boot file and fails with
/// PXE-E16.
inline constexpr std::uint8_t pxe_boot_file_in_offer = 0x08;

/// The option 43 value pxed sends a PXE client with a boot file:
/// PXE_DISCOVERY_CONTROL = pxe_boot_file_in_offer, then end (255).
std::vector<std::uint8_t> pxe_discovery_control_option();

/// The shape of an option value on the wire.
enum class value_type : std::uint8_t {
    empty,            ///< no data at all (RFC 4039 rapid commit)
    bytes,            ///< opaque octets
    string,           ///< NVT ASCII (RFC 2132 section 2); trailing NULs tolerated on receipt
    ipv4,             ///< exactly one address
    ipv4_list,        ///< one or more addresses
    u8,
    u16,
    u32,
    i32,              ///< RFC 2132 section 3.4 time offset, two's complement
    u8_list,          ///< one or more octets, e.g. option codes
    u16_list,         ///< one or more 16-bit values (RFC 4578 client architectures)
    client_ndi,       ///< RFC 4578 section 2.2: type, major, minor
    uuid,             ///< RFC 4578 section 2.3: type 0 then 16 octets
    user_class,       ///< RFC 3004 length-prefixed instances (or one raw string, see dhcp.hpp)
    sub_options,      ///< RFC 3046 sub-options: code/length/value, no pad, no end
    encapsulated,     ///< RFC 2132 section 8.4 encapsulation: options, pad and end allowed
};

/// One row of the table.
struct option_def {
    std::uint8_t code;
    std::string_view name;  ///< Kea's name where Kea has one: what configuration files say
    value_type type;
    std::size_t min_length; ///< smallest valid value length (types with a fixed length say so here too)
    std::string_view reference;  ///< where the option is defined, e.g. "RFC 2132 9.6"
};

/// The whole table, sorted by code, each code and each name once.
struct option_def_table {
    const option_def* first;
    std::size_t count;
    const option_def* begin() const { return first; }
    const option_def* end() const { return first + count; }
    std::size_t size() const { return count; }
};

option_def_table option_defs();

/// The row for `code`, or nullptr when pxed has no metadata for it.
const option_def* find_option_def(std::uint8_t code);
inline const option_def* find_option_def(option_code code) { return find_option_def(code_of(code)); }
/// The row whose name is `name` (exact, lower case), or nullptr.
const option_def* find_option_def(std::string_view name);

/// Whether `size` bytes at `data` are a well-formed value of `def`'s type:
/// right length, list lengths a multiple of the item size, sub-options
/// that parse, a UUID of type 0. Never reads outside [data, data + size).
bool value_valid(const option_def& def, const std::uint8_t* data, std::size_t size);
inline bool value_valid(const option_def& def, const std::vector<std::uint8_t>& value) {
    return value_valid(def, value.data(), value.size());
}

/// The value as text for a log line: addresses dotted, numbers decimal,
/// lists comma-separated, strings escaped (pxed::wire::escape_for_log),
/// everything else, and anything malformed, as colon-separated hex. `def`
/// may be nullptr (unknown option: hex).
std::string format_value(const option_def* def, const std::uint8_t* data, std::size_t size);
inline std::string format_value(const option_def* def, const std::vector<std::uint8_t>& value) {
    return format_value(def, value.data(), value.size());
}

/// Configuration text to wire bytes, the inverse of format_value for the
/// types that have a text form: `10.0.0.1`, `10.0.0.1, 10.0.0.2`, `3600`,
/// `-3600` (i32), `1, 3, 6` (u8/u16 lists), any text (string, taken as
/// is), `` (empty). bytes, client_ndi, uuid, user_class, sub_options and
/// encapsulated take hex (`01:02:0a`, `01020a` or `01 02 0a`). nullopt
/// when the text does not parse, a number is out of range, or the result
/// is not value_valid. Values longer than 255 octets are fine: the encoder
/// splits them (RFC 3396).
std::optional<std::vector<std::uint8_t>> parse_value(const option_def& def, std::string_view text);

/// One option or sub-option: its code and its raw value. For top-level
/// options the value is the RFC 3396 concatenation of every instance.
struct option {
    std::uint8_t code = 0;
    std::vector<std::uint8_t> value;

    friend bool operator==(const option& a, const option& b) { return a.code == b.code && a.value == b.value; }
    friend bool operator!=(const option& a, const option& b) { return !(a == b); }
};

/// How pad and end are treated inside an encapsulated option.
enum class sub_option_format {
    strict,        ///< RFC 3046 section 2.0: no pad, no end; every octet belongs to a sub-option
    options_like,  ///< RFC 2132 section 8.4: pad (0) skipped, end (255) stops
};

/// Parses code/length/value sub-options (option 82, 43, 175). nullopt when
/// a sub-option runs past the end. Repeated codes are kept as separate
/// entries, in order: sub-options are not RFC 3396 concatenated.
std::optional<std::vector<option>> parse_sub_options(const std::uint8_t* data, std::size_t size,
                                                     sub_option_format format);
inline std::optional<std::vector<option>> parse_sub_options(const std::vector<std::uint8_t>& value,
                                                            sub_option_format format) {
    return parse_sub_options(value.data(), value.size(), format);
}
/// Sub-options back to bytes. nullopt when a value exceeds 255 octets.
std::optional<std::vector<std::uint8_t>> encode_sub_options(const std::vector<option>& subs);

/// The first entry with this code, or nullptr.
const option* find_sub_option(const std::vector<option>& subs, std::uint8_t code);
inline const option* find_sub_option(const std::vector<option>& subs, relay_sub_option code) {
    return find_sub_option(subs, static_cast<std::uint8_t>(code));
}

}  // namespace pxed::dhcp
