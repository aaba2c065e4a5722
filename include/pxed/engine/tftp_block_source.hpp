#pragma once
/// Where a TFTP read transfer gets its bytes. The server backs it with an
/// fd, an mmap, a shared cache or a rendered document; the engine only asks
/// for byte ranges, possibly the same range twice (retransmissions), and
/// never from two threads.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace pxed::tftp {

class block_source {
public:
    virtual ~block_source() = default;

    /// Total size in bytes when known up front; offered as tsize (RFC 2349)
    /// in octet mode. nullopt for sources whose end is only found by reading.
    virtual std::optional<std::uint64_t> size() const = 0;

    /// Copies up to `len` bytes starting at `offset` into `out` and returns
    /// how many were copied. Fewer than `len` means the end of the data
    /// (implementations loop over short reads themselves). nullopt on an I/O
    /// error: the engine answers ERROR 0 and ends the transfer. The same
    /// range must yield the same bytes every time it is read.
    virtual std::optional<std::size_t> read(std::uint64_t offset, std::uint8_t* out, std::size_t len) = 0;
};

/// An immutable in-memory document (rendered configs, tests). Shares the
/// bytes, so many transfers of one document cost one copy.
class memory_block_source final : public block_source {
public:
    explicit memory_block_source(std::string bytes)
        : bytes_(std::make_shared<const std::string>(std::move(bytes))) {}
    explicit memory_block_source(std::shared_ptr<const std::string> bytes) : bytes_(std::move(bytes)) {}

    std::optional<std::uint64_t> size() const override { return bytes_->size(); }
    std::optional<std::size_t> read(std::uint64_t offset, std::uint8_t* out, std::size_t len) override;

private:
    std::shared_ptr<const std::string> bytes_;
};

}  // namespace pxed::tftp
