#pragma once
/// TFTP packets as bytes and as structs: RFC 1350 (RRQ, WRQ, DATA, ACK,
/// ERROR) and RFC 2347 (OACK, options appended to RRQ/WRQ). No I/O, no
/// logging. Decoding never throws and never reads past the buffer: it
/// returns the packet or an error code with the byte offset where the input
/// went wrong. Strings from the wire are kept raw; escape them
/// (pxed::wire::escape_for_log) before they reach a log.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "pxed/wire/result.hpp"

namespace pxed::tftp {

/// RFC 1350 section 5, RFC 2347 (OACK).
enum class opcode : std::uint16_t {
    rrq = 1,    ///< RFC 1350 section 5: read request
    wrq = 2,    ///< RFC 1350 section 5: write request
    data = 3,   ///< RFC 1350 section 5
    ack = 4,    ///< RFC 1350 section 5
    error = 5,  ///< RFC 1350 section 5
    oack = 6,   ///< RFC 2347: option acknowledgment
};

/// RFC 1350 appendix "Error Codes", plus 8 from RFC 2347. Values outside
/// 0-8 can arrive from the wire and are kept as they are.
enum class error_code : std::uint16_t {
    not_defined = 0,         ///< "see error message"
    file_not_found = 1,
    access_violation = 2,
    disk_full = 3,
    illegal_operation = 4,
    unknown_tid = 5,
    file_exists = 6,
    no_such_user = 7,
    option_refused = 8,      ///< RFC 2347: terminate transfer due to option negotiation
};

/// The RFC 1350 wording for a code, for ERROR packets that need no detail.
std::string_view default_message(error_code code);

/// RFC 1350 section 1 transfer modes; the mode string is case-insensitive.
enum class transfer_mode {
    netascii,  ///< RFC 1350 / RFC 764: CR LF line ends, CR NUL for a bare CR
    octet,     ///< raw bytes
    mail,      ///< RFC 1350 section 1 calls it obsolete; recognised so it can be refused by name
    unknown,   ///< anything else
};

transfer_mode parse_mode(std::string_view text);

/// One RFC 2347 option as it appeared on the wire: name and value raw, in
/// request order. Option names compare case-insensitively (names_equal).
struct option {
    std::string name;
    std::string value;

    friend bool operator==(const option& a, const option& b) { return a.name == b.name && a.value == b.value; }
    friend bool operator!=(const option& a, const option& b) { return !(a == b); }
};

/// ASCII case-insensitive comparison, as RFC 2347 asks for option names.
bool names_equal(std::string_view a, std::string_view b);

/// A decimal option value: digits only, no sign, no blanks, not empty.
/// Values beyond 64 bits saturate to UINT64_MAX (so "too big" stays "too
/// big" instead of becoming "not a number"). nullopt when not a number.
std::optional<std::uint64_t> parse_decimal(std::string_view text);

/// RRQ or WRQ (RFC 1350 section 5, RFC 2347).
struct request {
    opcode op = opcode::rrq;  ///< rrq or wrq
    std::string filename;     ///< raw bytes, never empty once decoded
    std::string mode_text;    ///< as sent, e.g. "octet" or "NETASCII"
    transfer_mode mode = transfer_mode::octet;
    std::vector<option> options;

    /// First option with this name (case-insensitive), or nullptr.
    const option* find_option(std::string_view name) const;

    friend bool operator==(const request& a, const request& b) {
        return a.op == b.op && a.filename == b.filename && a.mode_text == b.mode_text && a.mode == b.mode &&
               a.options == b.options;
    }
    friend bool operator!=(const request& a, const request& b) { return !(a == b); }
};

struct data_packet {
    std::uint16_t block = 0;
    std::vector<std::uint8_t> payload;

    friend bool operator==(const data_packet& a, const data_packet& b) {
        return a.block == b.block && a.payload == b.payload;
    }
    friend bool operator!=(const data_packet& a, const data_packet& b) { return !(a == b); }
};

struct ack_packet {
    std::uint16_t block = 0;

    friend bool operator==(const ack_packet& a, const ack_packet& b) { return a.block == b.block; }
    friend bool operator!=(const ack_packet& a, const ack_packet& b) { return !(a == b); }
};

struct error_packet {
    error_code code = error_code::not_defined;
    std::string message;  ///< raw; escape before logging

    friend bool operator==(const error_packet& a, const error_packet& b) {
        return a.code == b.code && a.message == b.message;
    }
    friend bool operator!=(const error_packet& a, const error_packet& b) { return !(a == b); }
};

struct oack_packet {
    std::vector<option> options;

    friend bool operator==(const oack_packet& a, const oack_packet& b) { return a.options == b.options; }
    friend bool operator!=(const oack_packet& a, const oack_packet& b) { return !(a == b); }
};

using packet = std::variant<request, data_packet, ack_packet, error_packet, oack_packet>;

/// Why a datagram is not a TFTP packet.
enum class decode_errc {
    truncated,             ///< shorter than the fixed part of its opcode (or than an opcode)
    unknown_opcode,        ///< opcode outside 1-6
    missing_nul,           ///< filename, or an option name, not NUL-terminated
    empty_filename,
    missing_mode,          ///< nothing (or an empty string) where the mode belongs
    option_without_value,  ///< option name at the end of the packet with no value after it
    too_many_options,      ///< more than max_options name/value pairs
};

std::string_view to_string(decode_errc code);

struct decode_error {
    decode_errc code = decode_errc::truncated;
    std::size_t offset = 0;         ///< byte offset in the datagram where decoding stopped
    std::optional<opcode> op;       ///< set when the opcode itself was valid

    friend bool operator==(const decode_error& a, const decode_error& b) {
        return a.code == b.code && a.offset == b.offset && a.op == b.op;
    }
};

/// Client oddities the decoder tolerated on purpose (see tftp.cpp for the
/// clients behind each). Worth a debug log line, never a refusal.
struct decode_quirks {
    /// Bytes after the last option, starting with an empty option name,
    /// that were ignored (NUL padding or garbage).
    std::size_t ignored_trailing_bytes = 0;
    /// The last string (mode, option value or error message) ran to the
    /// end of the datagram without its NUL.
    bool unterminated_last_string = false;
    /// An ACK longer than 4 bytes; the extra bytes were ignored.
    std::size_t ack_extra_bytes = 0;

    bool any() const { return ignored_trailing_bytes != 0 || unterminated_last_string || ack_extra_bytes != 0; }
};

/// A decoded packet or the reason it is not one (ok(), value(), error()),
/// and the quirks tolerated on the way.
class decode_result : public wire::result<packet, decode_error> {
public:
    decode_result(packet p, decode_quirks q) : result(std::move(p)), quirks_(q) {}
    decode_result(decode_error e) : result(e) {}

    const decode_quirks& quirks() const { return quirks_; }

    /// The packet as T, or nullptr when it failed to decode or is another kind.
    template <typename T>
    const T* get_if() const {
        return ok() ? std::get_if<T>(&value()) : nullptr;
    }

private:
    decode_quirks quirks_;
};

/// Far more than any client sends (iPXE sends up to three, curl three, atftp
/// up to six); the cap bounds the work a hostile request can cause.
inline constexpr std::size_t max_options = 32;

/// Smallest and largest blksize RFC 2348 allows, and the RFC 1350 default.
inline constexpr std::uint16_t min_blksize = 8;
inline constexpr std::uint16_t max_blksize = 65464;
inline constexpr std::uint16_t default_blksize = 512;

/// RFC 1350 section 5: an opcode and a 16-bit number (block or error code),
/// the fixed part of DATA, ACK and ERROR. A DATA payload starts here.
inline constexpr std::size_t header_size = 4;

decode_result decode(const std::uint8_t* data, std::size_t size);
inline decode_result decode(const std::vector<std::uint8_t>& bytes) { return decode(bytes.data(), bytes.size()); }

// Encoders. A field cannot carry a NUL on the wire, so strings are written
// up to their first NUL if they contain one. Everything decode() returns
// encodes back to a packet that decodes to the same value.

std::vector<std::uint8_t> encode_request(const request& r);
std::vector<std::uint8_t> encode_data(std::uint16_t block, const std::uint8_t* payload, std::size_t size);
/// The DATA header alone, written over the header_size bytes at `out`: for
/// a sender that reads the payload straight into the bytes after it, so a
/// block is never copied to be framed. Block numbers are 16 bits on the
/// wire; a sender past block 65535 passes the number modulo 65536.
void write_data_header(std::uint8_t* out, std::uint16_t block);
std::vector<std::uint8_t> encode_ack(std::uint16_t block);
/// An empty message is replaced by default_message(code).
std::vector<std::uint8_t> encode_error(error_code code, std::string_view message = {});
std::vector<std::uint8_t> encode_oack(const std::vector<option>& options);
std::vector<std::uint8_t> encode(const packet& p);

}  // namespace pxed::tftp
