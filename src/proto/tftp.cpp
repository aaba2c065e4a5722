#include "pxed/proto/tftp.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>

#include "pxed/wire/bytes.hpp"
#include "pxed/wire/text.hpp"

namespace pxed::tftp {

namespace {


std::string_view as_chars(const std::uint8_t* p, std::size_t n) {
    return std::string_view(reinterpret_cast<const char*>(p), n);
}

// A NUL-terminated string of the datagram.
struct field {
    std::string_view text;
    bool terminated = false;  // a NUL followed it (and was consumed)
};

// Reads the string at `pos`. Unlike byte_reader::read_cstring, a string
// running to the end of the datagram comes back as unterminated instead of
// failing, so each caller decides whether that is a quirk to tolerate or an
// error.
field read_field_at(const std::uint8_t* data, std::size_t size, std::size_t& pos) {
    const void* nul = std::memchr(data + pos, 0, size - pos);
    field f;
    if (nul) {
        const auto len = static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - (data + pos));
        f.text = as_chars(data + pos, len);
        f.terminated = true;
        pos += len + 1;
    } else {
        f.text = as_chars(data + pos, size - pos);
        pos = size;
    }
    return f;
}

decode_error fail(decode_errc code, std::size_t offset, std::optional<opcode> op) {
    return decode_error{code, offset, op};
}

// RFC 2347 option list shared by RRQ/WRQ and OACK: name NUL value NUL ...
// Returns an error, or nullopt with `out` filled.
std::optional<decode_error> decode_options(const std::uint8_t* data, std::size_t size, std::size_t pos, opcode op,
                                           std::vector<option>& out, decode_quirks& quirks) {
    while (pos < size) {
        if (data[pos] == 0) {
            // An empty option name ends the list and whatever follows is
            // ignored. PXE ROMs have been reported to pad their RRQ with NULs
            // after the last option; tftp-hpa tolerates the same by stopping
            // at the first empty string, and refusing here would fail a boot
            // over bytes that carry nothing.
            quirks.ignored_trailing_bytes = size - pos;
            return std::nullopt;
        }
        const std::size_t name_at = pos;
        const field name = read_field_at(data, size, pos);
        if (!name.terminated || pos == size) {
            // "blksize" at the very end, with or without its NUL: there is
            // no value to negotiate with, and guessing one would be worse
            // than saying so.
            return fail(decode_errc::option_without_value, name_at, op);
        }
        if (out.size() == max_options) return fail(decode_errc::too_many_options, name_at, op);
        const field value = read_field_at(data, size, pos);
        if (!value.terminated) {
            // The last value ran to the end of the datagram without its NUL
            // (seen from some embedded clients). dnsmasq drops such an
            // option silently; keeping it lets "blksize 1468" still count.
            quirks.unterminated_last_string = true;
        }
        // An empty value is kept: it is well formed (RFC 2347 only says it is
        // a string), and tftpy refusing one broke Grandstream phone
        // provisioning (tftpy issue #141). The engine decides what it means.
        out.push_back(option{std::string(name.text), std::string(value.text)});
    }
    return std::nullopt;
}

decode_result decode_request(const std::uint8_t* data, std::size_t size, opcode op) {
    decode_quirks quirks;
    std::size_t pos = 2;

    const std::size_t filename_at = pos;
    const field filename = read_field_at(data, size, pos);
    if (!filename.terminated) return fail(decode_errc::missing_nul, filename_at, op);
    if (filename.text.empty()) return fail(decode_errc::empty_filename, filename_at, op);

    const std::size_t mode_at = pos;
    const field mode = read_field_at(data, size, pos);
    if (mode.text.empty()) return fail(decode_errc::missing_mode, mode_at, op);
    // "file\0octet" without the final NUL: the same missing-last-NUL quirk as
    // on an option value, tolerated the same way.
    if (!mode.terminated) quirks.unterminated_last_string = true;

    request r;
    r.op = op;
    r.filename = std::string(filename.text);
    r.mode_text = std::string(mode.text);
    r.mode = parse_mode(mode.text);
    if (auto err = decode_options(data, size, pos, op, r.options, quirks)) return *err;
    return decode_result(packet(std::move(r)), quirks);
}

void put_string_to_nul(wire::byte_writer& out, std::string_view s) {
    const auto nul = s.find('\0');
    out.put_cstring(nul == std::string_view::npos ? s : s.substr(0, nul));
}

void put_options(wire::byte_writer& out, const std::vector<option>& options) {
    for (const auto& o : options) {
        put_string_to_nul(out, o.name);
        put_string_to_nul(out, o.value);
    }
}

}  // namespace

std::string_view default_message(error_code code) {
    switch (code) {
        case error_code::not_defined: return "Not defined";
        case error_code::file_not_found: return "File not found";
        case error_code::access_violation: return "Access violation";
        case error_code::disk_full: return "Disk full or allocation exceeded";
        case error_code::illegal_operation: return "Illegal TFTP operation";
        case error_code::unknown_tid: return "Unknown transfer ID";
        case error_code::file_exists: return "File already exists";
        case error_code::no_such_user: return "No such user";
        case error_code::option_refused: return "Option negotiation refused";
    }
    return "Unknown error";
}

transfer_mode parse_mode(std::string_view text) {
    if (names_equal(text, "octet")) return transfer_mode::octet;
    if (names_equal(text, "netascii")) return transfer_mode::netascii;
    if (names_equal(text, "mail")) return transfer_mode::mail;
    return transfer_mode::unknown;
}

bool names_equal(std::string_view a, std::string_view b) { return wire::iequals(a, b); }

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
    if (text.empty()) return std::nullopt;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
    }
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc::result_out_of_range) return std::numeric_limits<std::uint64_t>::max();
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

const option* request::find_option(std::string_view name) const {
    for (const auto& o : options) {
        if (names_equal(o.name, name)) return &o;
    }
    return nullptr;
}

std::string_view to_string(decode_errc code) {
    switch (code) {
        case decode_errc::truncated: return "truncated packet";
        case decode_errc::unknown_opcode: return "unknown opcode";
        case decode_errc::missing_nul: return "string not NUL-terminated";
        case decode_errc::empty_filename: return "empty filename";
        case decode_errc::missing_mode: return "missing transfer mode";
        case decode_errc::option_without_value: return "option without value";
        case decode_errc::too_many_options: return "too many options";
    }
    return "malformed packet";
}

decode_result decode(const std::uint8_t* data, std::size_t size) {
    wire::byte_reader in(data, size);
    std::uint16_t raw_op = 0;
    if (!in.read_u16(raw_op)) return fail(decode_errc::truncated, 0, std::nullopt);
    if (raw_op < 1 || raw_op > 6) return fail(decode_errc::unknown_opcode, 0, std::nullopt);
    const auto op = static_cast<opcode>(raw_op);

    switch (op) {
        case opcode::rrq:
        case opcode::wrq:
            return decode_request(data, size, op);

        case opcode::data: {
            std::uint16_t block = 0;
            if (!in.read_u16(block)) return fail(decode_errc::truncated, size, op);
            data_packet d;
            d.block = block;
            d.payload.assign(data + header_size, data + size);
            return decode_result(packet(std::move(d)), {});
        }

        case opcode::ack: {
            std::uint16_t block = 0;
            if (!in.read_u16(block)) return fail(decode_errc::truncated, size, op);
            decode_quirks quirks;
            // RFC 1350 fixes an ACK at 4 bytes. Extra bytes carry nothing we
            // need, and dropping the ACK would only cost a retransmission.
            quirks.ack_extra_bytes = in.remaining();
            return decode_result(packet(ack_packet{block}), quirks);
        }

        case opcode::error: {
            std::uint16_t code = 0;
            if (!in.read_u16(code)) return fail(decode_errc::truncated, size, op);
            std::size_t pos = header_size;
            decode_quirks quirks;
            const field message = read_field_at(data, size, pos);
            // The message only ever reaches a log, so a missing NUL (or a
            // missing message) is not worth losing the error over: the
            // client has given up either way.
            if (!message.terminated && !message.text.empty()) quirks.unterminated_last_string = true;
            return decode_result(packet(error_packet{static_cast<error_code>(code), std::string(message.text)}),
                                 quirks);
        }

        case opcode::oack: {
            decode_quirks quirks;
            oack_packet o;
            if (auto err = decode_options(data, size, 2, op, o.options, quirks)) return *err;
            return decode_result(packet(std::move(o)), quirks);
        }
    }
    return fail(decode_errc::unknown_opcode, 0, std::nullopt);
}

std::vector<std::uint8_t> encode_request(const request& r) {
    std::vector<std::uint8_t> bytes;
    bytes.reserve(4 + r.filename.size() + r.mode_text.size() + 16 * r.options.size());
    wire::byte_writer out(bytes);
    out.put_u16(static_cast<std::uint16_t>(r.op));
    put_string_to_nul(out, r.filename);
    put_string_to_nul(out, r.mode_text);
    put_options(out, r.options);
    return bytes;
}

void write_data_header(std::uint8_t* out, std::uint16_t block) {
    const auto op = static_cast<std::uint16_t>(opcode::data);
    out[0] = static_cast<std::uint8_t>(op >> 8);
    out[1] = static_cast<std::uint8_t>(op & 0xff);
    out[2] = static_cast<std::uint8_t>(block >> 8);
    out[3] = static_cast<std::uint8_t>(block & 0xff);
}

std::vector<std::uint8_t> encode_data(std::uint16_t block, const std::uint8_t* payload, std::size_t size) {
    std::vector<std::uint8_t> bytes(header_size + size);
    write_data_header(bytes.data(), block);
    if (size != 0) std::copy(payload, payload + size, bytes.begin() + header_size);
    return bytes;
}

std::vector<std::uint8_t> encode_ack(std::uint16_t block) {
    std::vector<std::uint8_t> bytes;
    bytes.reserve(header_size);
    wire::byte_writer out(bytes);
    out.put_u16(static_cast<std::uint16_t>(opcode::ack));
    out.put_u16(block);
    return bytes;
}

std::vector<std::uint8_t> encode_error(error_code code, std::string_view message) {
    if (message.empty()) message = default_message(code);
    std::vector<std::uint8_t> bytes;
    bytes.reserve(5 + message.size());
    wire::byte_writer out(bytes);
    out.put_u16(static_cast<std::uint16_t>(opcode::error));
    out.put_u16(static_cast<std::uint16_t>(code));
    put_string_to_nul(out, message);
    return bytes;
}

std::vector<std::uint8_t> encode_oack(const std::vector<option>& options) {
    std::vector<std::uint8_t> bytes;
    wire::byte_writer out(bytes);
    out.put_u16(static_cast<std::uint16_t>(opcode::oack));
    put_options(out, options);
    return bytes;
}

std::vector<std::uint8_t> encode(const packet& p) {
    struct visitor {
        std::vector<std::uint8_t> operator()(const request& r) const { return encode_request(r); }
        std::vector<std::uint8_t> operator()(const data_packet& d) const {
            return encode_data(d.block, d.payload.data(), d.payload.size());
        }
        std::vector<std::uint8_t> operator()(const ack_packet& a) const { return encode_ack(a.block); }
        std::vector<std::uint8_t> operator()(const error_packet& e) const {
            // Keep an empty message empty so decode(encode(x)) == x.
            std::vector<std::uint8_t> bytes;
            wire::byte_writer out(bytes);
            out.put_u16(static_cast<std::uint16_t>(opcode::error));
            out.put_u16(static_cast<std::uint16_t>(e.code));
            put_string_to_nul(out, e.message);
            return bytes;
        }
        std::vector<std::uint8_t> operator()(const oack_packet& o) const { return encode_oack(o.options); }
    };
    return std::visit(visitor{}, p);
}

}  // namespace pxed::tftp
