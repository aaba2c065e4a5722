#pragma once
/// Bounds-checked reading and writing of network byte order. Readers never
/// throw and never read past the end: a failed read leaves the reader in a
/// failed state that the codec turns into an error with the offset.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace pxed::wire {

class byte_reader {
public:
    byte_reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

    std::size_t offset() const { return pos_; }
    std::size_t remaining() const { return failed_ ? 0 : size_ - pos_; }
    bool ok() const { return !failed_; }
    bool at_end() const { return pos_ == size_; }

    bool read_u8(std::uint8_t& out);
    bool read_u16(std::uint16_t& out);
    bool read_u32(std::uint32_t& out);
    /// Points `out` at the next `n` bytes without copying them.
    bool read_bytes(std::size_t n, const std::uint8_t*& out);
    bool skip(std::size_t n);

    /// Bytes up to (not including) the next NUL; the NUL is consumed.
    /// Fails when no NUL follows.
    bool read_cstring(std::string_view& out);

private:
    bool need(std::size_t n);

    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
    bool failed_ = false;
};

class byte_writer {
public:
    explicit byte_writer(std::vector<std::uint8_t>& out) : out_(out) {}

    void put_u8(std::uint8_t v) { out_.push_back(v); }
    void put_u16(std::uint16_t v);
    void put_u32(std::uint32_t v);
    void put_bytes(const std::uint8_t* data, std::size_t n) { out_.insert(out_.end(), data, data + n); }
    void put_string(std::string_view s) { put_bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); }
    void put_cstring(std::string_view s) { put_string(s); put_u8(0); }
    void put_zeros(std::size_t n) { out_.insert(out_.end(), n, 0); }
    std::size_t size() const { return out_.size(); }

private:
    std::vector<std::uint8_t>& out_;
};

}  // namespace pxed::wire
