#pragma once
/// DHCPv4 and BOOTP messages as bytes and as structs: the RFC 951 / RFC 2131
/// section 2 fixed header, the RFC 2132 magic cookie and options, RFC 3396
/// long options and RFC 2132 section 9.3 option overload. No I/O, no
/// logging. Decoding never throws and never reads past the buffer: it
/// returns the message or an error code with the byte offset where the input
/// went wrong. Strings from the wire (hostname, vendor class, file, ...) are
/// kept raw; escape them (pxed::wire::escape_for_log) before they reach a log.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pxed/proto/dhcp_options.hpp"
#include "pxed/wire/ipv4.hpp"
#include "pxed/wire/mac.hpp"
#include "pxed/wire/result.hpp"

namespace pxed::dhcp {

/// RFC 951 section 3, RFC 2131 section 2: the 'op' field.
enum class op_code : std::uint8_t {
    boot_request = 1,
    boot_reply = 2,
};

/// The 'htype' field: IANA ARP hardware types (RFC 1700). Other values are
/// kept as they are.
enum class hardware_type : std::uint8_t {
    ethernet = 1,
    ieee802 = 6,
    infiniband = 32,  ///< RFC 4390: hlen 0, chaddr empty, client id mandatory
};

/// RFC 2132 section 9.6. Values 9-18 come from later RFCs (3203 FORCERENEW;
/// 4388, 6926 and 7724 leasequery) and any value can arrive from the wire:
/// they are kept as they are and to_string() names the ones it knows.
enum class message_type : std::uint8_t {
    discover = 1,
    offer = 2,
    request = 3,
    decline = 4,
    ack = 5,
    nak = 6,
    release = 7,
    inform = 8,
};

/// "DHCPDISCOVER" ... "DHCPINFORM", the later RFCs' names for 9-18,
/// "DHCP(n)" for anything else.
std::string to_string(message_type t);

/// RFC 4578 section 2.1 and the IANA "Processor Architecture Types"
/// registry (option 93). Other values are kept as they are.
enum class client_arch : std::uint16_t {
    x86_bios = 0,
    nec_pc98 = 1,
    efi_itanium = 2,
    dec_alpha = 3,
    arc_x86 = 4,
    intel_lean_client = 5,
    efi_ia32 = 6,
    /// RFC 4578 calls 7 "EFI BC" (byte code), but x86-64 UEFI firmware sends
    /// it and IANA now lists it as x64 UEFI; 9 means the same in practice.
    efi_bc = 7,
    efi_xscale = 8,
    efi_x86_64 = 9,
    efi_arm32 = 10,
    efi_arm64 = 11,
    ppc_open_firmware = 12,
    ppc_epapr = 13,
    power_opal_v3 = 14,
    efi_x86_http = 15,
    efi_x86_64_http = 16,
    efi_bc_http = 17,
    efi_arm32_http = 18,
    efi_arm64_http = 19,
    x86_bios_http = 20,
    arm32_uboot = 21,
    arm64_uboot = 22,
    arm32_uboot_http = 23,
    arm64_uboot_http = 24,
    efi_riscv32 = 25,
    efi_riscv32_http = 26,
    efi_riscv64 = 27,
    efi_riscv64_http = 28,
};

/// What kind of boot loader a client can run: the decision option 93 exists for.
enum class boot_firmware {
    bios,             ///< 0: PC BIOS PXE (undionly.kpxe, pxelinux.0)
    uefi_ia32,        ///< 6
    uefi_x64,         ///< 7 and 9
    uefi_arm64,       ///< 11
    uefi_x64_http,    ///< 16: UEFI HTTP boot, wants a URL in option 67
    uefi_arm64_http,  ///< 19
    unknown,          ///< anything else: pxed has no loader to offer
};

boot_firmware classify(client_arch arch);
std::string_view to_string(boot_firmware f);

/// The architecture in a PXE or UEFI HTTP boot vendor class
/// ("PXEClient:Arch:00007:UNDI:003016", "HTTPClient:Arch:00016"): five
/// decimal digits after "Arch:". nullopt for anything else.
std::optional<client_arch> arch_from_vendor_class(std::string_view vendor_class);

/// RFC 4578 section 2.2, option 94.
struct network_interface_id {
    std::uint8_t type = 1;  ///< 1: UNDI
    std::uint8_t major = 0;
    std::uint8_t minor = 0;
};

/// RFC 2132 section 9.3: which header fields carry options.
enum class overload_fields : std::uint8_t {
    none = 0,
    file = 1,
    sname = 2,
    both = 3,
};

/// RFC 2131 section 2 figure 2: the leftmost bit of 'flags'.
inline constexpr std::uint16_t broadcast_flag = 0x8000;

inline constexpr std::size_t chaddr_size = 16;
inline constexpr std::size_t sname_size = 64;
inline constexpr std::size_t file_size = 128;
/// op .. file: RFC 2131 section 2.
inline constexpr std::size_t fixed_header_size = 236;
/// The header plus the RFC 2131 section 3 magic cookie 99.130.83.99.
inline constexpr std::size_t options_offset = fixed_header_size + 4;
inline constexpr std::uint32_t magic_cookie = 0x63825363;
/// RFC 1542 section 2.1: "the minimal BOOTP header of 300 octets"; some
/// clients and relays drop anything shorter, so replies are padded to it.
inline constexpr std::size_t bootp_min_size = 300;
/// RFC 2132 section 9.10: the smallest legal maximum message size, and the
/// size every client must accept (RFC 2131 section 2).
inline constexpr std::size_t default_max_message_size = 576;
/// IPv4 and UDP headers. Option 57 counts them, as RFC 2131 section 2's
/// "576 octets, the minimum IP datagram size" implies and ISC dhcpd
/// assumes; the BOOTP message itself is 28 octets smaller.
inline constexpr std::size_t ip_udp_overhead = 28;

/// A BOOTP/DHCP message. Options are in the order of first appearance on
/// the wire, each code once with the RFC 3396 concatenation of all its
/// instances as value, never pad (0), overload (52) or end (255): the codec
/// handles those itself.
struct message {
    op_code op = op_code::boot_request;
    hardware_type htype = hardware_type::ethernet;
    std::uint8_t hlen = 6;  ///< as sent; may exceed 16 (hardware_address() clamps)
    std::uint8_t hops = 0;
    std::uint32_t xid = 0;
    std::uint16_t secs = 0;
    std::uint16_t flags = 0;  ///< all 16 bits as sent; see broadcast()
    wire::ipv4_address ciaddr;
    wire::ipv4_address yiaddr;
    wire::ipv4_address siaddr;
    wire::ipv4_address giaddr;
    std::array<std::uint8_t, chaddr_size> chaddr{};
    /// Up to the first NUL. Empty when the field carried options (overload).
    std::string sname;
    /// Up to the first NUL. Empty when the field carried options (overload).
    std::string file;
    std::vector<option> options;

    bool broadcast() const { return (flags & broadcast_flag) != 0; }
    void set_broadcast(bool on);

    /// The MAC when htype is Ethernet and hlen is 6, else nullopt.
    std::optional<wire::mac_address> mac() const;
    /// htype Ethernet, hlen 6, chaddr the MAC followed by zeros.
    void set_mac(const wire::mac_address& mac);
    /// The first min(hlen, 16) octets of chaddr.
    std::vector<std::uint8_t> hardware_address() const;

    /// The option with this code, or nullptr.
    const option* find(std::uint8_t code) const;
    const option* find(option_code code) const { return find(code_of(code)); }
    bool has(option_code code) const { return find(code) != nullptr; }
    /// Replaces the value of `code` in place, or appends the option.
    void set(std::uint8_t code, std::vector<std::uint8_t> value);
    void set(option_code code, std::vector<std::uint8_t> value) { set(code_of(code), std::move(value)); }
    /// Removes the option; false when it was not there.
    bool erase(std::uint8_t code);
    bool erase(option_code code) { return erase(code_of(code)); }

    void set_u8(option_code code, std::uint8_t v);
    void set_u16(option_code code, std::uint16_t v);
    void set_u32(option_code code, std::uint32_t v);
    void set_ipv4(option_code code, wire::ipv4_address a);
    void set_ipv4_list(option_code code, const std::vector<wire::ipv4_address>& list);
    void set_string(option_code code, std::string_view s);
    void set_message_type(dhcp::message_type t) { set_u8(option_code::message_type, static_cast<std::uint8_t>(t)); }

    // Typed accessors. Each returns nullopt (or an empty list) both when the
    // option is absent and when its value is malformed for its type; use
    // find() to tell the two apart.

    /// Option 53 (RFC 2132 9.6). Absent on a plain BOOTP request.
    std::optional<dhcp::message_type> message_type() const;
    /// Option 50 (RFC 2132 9.1).
    std::optional<wire::ipv4_address> requested_ip() const;
    /// Option 54 (RFC 2132 9.7).
    std::optional<wire::ipv4_address> server_id() const;
    /// Option 55 (RFC 2132 9.8), in the client's order.
    std::vector<std::uint8_t> parameter_request_list() const;
    /// Whether option 55 lists `code`.
    bool requests(option_code code) const;
    /// Option 57 (RFC 2132 9.10), as sent. See max_reply_size().
    std::optional<std::uint16_t> max_message_size() const;
    /// Option 51 (RFC 2132 9.2).
    std::optional<std::uint32_t> lease_time() const;
    /// Option 12 (RFC 2132 3.14), trailing NULs removed (RFC 2132 section
    /// 2 asks receivers to); nullopt when empty.
    std::optional<std::string> hostname() const;
    /// Option 60 (RFC 2132 9.13), trailing NULs removed; nullopt when empty.
    std::optional<std::string> vendor_class() const;
    /// Option 77: RFC 3004 length-prefixed instances. A value that does not
    /// parse as such is one raw string: iPXE sends "iPXE" that way, as do
    /// other pre-RFC 3004 clients.
    std::vector<std::string> user_class() const;
    /// Option 61 (RFC 2132 9.14): type octet then identifier, raw.
    std::optional<std::vector<std::uint8_t>> client_id() const;
    /// Option 93 (RFC 4578 2.1): one or more architectures, client's order.
    std::vector<dhcp::client_arch> client_arch() const;
    /// Option 94 (RFC 4578 2.2).
    std::optional<network_interface_id> client_ndi() const;
    /// Option 97 (RFC 4578 2.3): the 16 octets after type 0, in wire order.
    std::optional<std::array<std::uint8_t, 16>> client_uuid() const;
    /// Option 82 (RFC 3046) sub-options, in order.
    std::optional<std::vector<option>> relay_agent_info() const;
    /// RFC 3527: the client's link as the relay names it apart from giaddr
    /// (option 82 sub-option 5, exactly 4 octets); nullopt when absent or
    /// malformed.
    std::optional<wire::ipv4_address> link_selection() const;
    /// Option 175 sub-options, in order.
    std::optional<std::vector<option>> ipxe_options() const;
    /// iPXE is asking (option 175 present, or user class "iPXE"): it can
    /// be handed a script instead of being chainloaded again.
    bool has_ipxe() const;
    /// classify() of the first option 93 entry, else of the vendor class
    /// architecture, else unknown.
    boot_firmware firmware() const;

    friend bool operator==(const message& a, const message& b);
    friend bool operator!=(const message& a, const message& b) { return !(a == b); }
};

/// Why a datagram is not a BOOTP/DHCP message.
enum class decode_errc {
    truncated,         ///< shorter than the 236-octet header plus the 4-octet cookie
    bad_op,            ///< 'op' is neither 1 nor 2
    bad_cookie,        ///< the vend field starts with neither 99.130.83.99 nor zeros
    option_truncated,  ///< an option's length octet, or its value, runs past its field
    bad_overload,      ///< option 52 not 1 octet of 1-3, or found outside the options field
};

std::string_view to_string(decode_errc code);

struct decode_error {
    decode_errc code = decode_errc::truncated;
    std::size_t offset = 0;  ///< byte offset in the datagram where decoding stopped

    friend bool operator==(const decode_error& a, const decode_error& b) {
        return a.code == b.code && a.offset == b.offset;
    }
};

/// Client oddities the decoder tolerated on purpose (see dhcp.cpp for the
/// clients behind each). Worth a debug log line, never a refusal.
struct decode_quirks {
    /// Octets after an end option other than pad (0), in any field.
    std::size_t garbage_after_end = 0;
    /// A field's options ran to its last octet without an end option.
    bool missing_end = false;
    /// Options sent with length 0 that the option table says cannot be
    /// empty, e.g. a host name (kept, with an empty value).
    std::size_t empty_options = 0;
    /// hlen was larger than the 16 octets of chaddr.
    bool oversized_hlen = false;
    /// The vend field started with zeros instead of the magic cookie: an
    /// RFC 951 BOOTP client with nothing to say. Decoded without options.
    bool no_magic_cookie = false;

    bool any() const {
        return garbage_after_end != 0 || missing_end || empty_options != 0 || oversized_hlen ||
               no_magic_cookie;
    }
};

/// A decoded message or the reason it is not one (ok(), value(), error()),
/// the quirks tolerated and the fields that carried options.
class decode_result : public wire::result<message, decode_error> {
public:
    decode_result(message m, decode_quirks q, overload_fields o) : result(std::move(m)), quirks_(q), overloaded_(o) {}
    decode_result(decode_error e) : result(e) {}

    const decode_quirks& quirks() const { return quirks_; }
    /// Which header fields carried options (option 52).
    overload_fields overloaded() const { return overloaded_; }

private:
    decode_quirks quirks_;
    overload_fields overloaded_ = overload_fields::none;
};

decode_result decode(const std::uint8_t* data, std::size_t size);
inline decode_result decode(const std::vector<std::uint8_t>& bytes) { return decode(bytes.data(), bytes.size()); }

/// The largest reply `request` accepts, IP and UDP headers included: its
/// option 57, or 576 when it sent none, a malformed one or one below the
/// RFC 2132 9.10 minimum. The server should cap this at the interface MTU.
std::size_t max_reply_size(const message& request);

struct encode_options {
    /// Largest datagram allowed, IP and UDP headers included (option 57
    /// semantics, see max_reply_size); values below 576 count as 576.
    std::size_t max_message_size = default_max_message_size;
    /// Move options into empty file/sname fields (RFC 2132 9.3) when they
    /// do not fit the options field.
    bool allow_overload = true;
};

/// Why a message could not be encoded. Nothing is ever silently dropped.
enum class encode_errc {
    reserved_option,   ///< options hold code 0, 52 or 255, which the encoder writes itself
    duplicate_option,  ///< a code appears twice; options are written at most once
    sname_too_long,    ///< more than 64 octets
    file_too_long,     ///< more than 128 octets
    does_not_fit,      ///< the options exceed max_message_size even with overload
};

std::string_view to_string(encode_errc code);

struct encode_error {
    encode_errc code = encode_errc::does_not_fit;
    std::uint8_t option = 0;  ///< the option at fault, when there is one

    friend bool operator==(const encode_error& a, const encode_error& b) {
        return a.code == b.code && a.option == b.option;
    }
};

/// The message's bytes or why it could not be encoded (ok(), bytes(),
/// error()), and the fields that carry options.
class encode_result : public wire::result<std::vector<std::uint8_t>, encode_error> {
public:
    encode_result(std::vector<std::uint8_t> bytes, overload_fields o) : result(std::move(bytes)), overloaded_(o) {}
    encode_result(encode_error e) : result(e) {}

    /// Precondition: ok().
    const std::vector<std::uint8_t>& bytes() const { return value(); }
    /// Which header fields the encoder filled with options.
    overload_fields overloaded() const { return overloaded_; }

private:
    overload_fields overloaded_ = overload_fields::none;
};

/// The header, the magic cookie, the options in their order (values over
/// 255 octets split into consecutive instances, RFC 3396), end, and zero
/// padding to at least 300 octets. When the options do not fit in
/// max_message_size and file and/or sname are empty, each option instance
/// goes, in order, to the first of options field, file, sname with room for
/// it (so a later small option can still land in the options field), with
/// option 52 written last in the options field. Put option 53 first:
/// clients look for it in the options field. Anything that still does not
/// fit is an error, never a truncated option.
encode_result encode(const message& m, const encode_options& options = {});

}  // namespace pxed::dhcp
