#include "pxed/wire/bytes.hpp"

#include <cstring>

namespace pxed::wire {

bool byte_reader::need(std::size_t n) {
    if (failed_ || size_ - pos_ < n) {
        failed_ = true;
        return false;
    }
    return true;
}

bool byte_reader::read_u8(std::uint8_t& out) {
    if (!need(1)) return false;
    out = data_[pos_++];
    return true;
}

bool byte_reader::read_u16(std::uint16_t& out) {
    if (!need(2)) return false;
    out = static_cast<std::uint16_t>(data_[pos_] << 8 | data_[pos_ + 1]);
    pos_ += 2;
    return true;
}

bool byte_reader::read_u32(std::uint32_t& out) {
    if (!need(4)) return false;
    out = std::uint32_t{data_[pos_]} << 24 | std::uint32_t{data_[pos_ + 1]} << 16 |
          std::uint32_t{data_[pos_ + 2]} << 8 | data_[pos_ + 3];
    pos_ += 4;
    return true;
}

bool byte_reader::read_bytes(std::size_t n, const std::uint8_t*& out) {
    if (!need(n)) return false;
    out = data_ + pos_;
    pos_ += n;
    return true;
}

bool byte_reader::skip(std::size_t n) {
    if (!need(n)) return false;
    pos_ += n;
    return true;
}

bool byte_reader::read_cstring(std::string_view& out) {
    if (failed_) return false;
    const void* nul = std::memchr(data_ + pos_, 0, size_ - pos_);
    if (!nul) {
        failed_ = true;
        return false;
    }
    const auto len = static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - (data_ + pos_));
    out = std::string_view(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len + 1;
    return true;
}

void byte_writer::put_u16(std::uint16_t v) {
    out_.push_back(static_cast<std::uint8_t>(v >> 8));
    out_.push_back(static_cast<std::uint8_t>(v));
}

void byte_writer::put_u32(std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out_.push_back(static_cast<std::uint8_t>(v >> shift));
}

}  // namespace pxed::wire
