#include "pxed/engine/tftp_block_source.hpp"

#include <algorithm>
#include <cstring>

namespace pxed::tftp {

std::optional<std::size_t> memory_block_source::read(std::uint64_t offset, std::uint8_t* out, std::size_t len) {
    const std::uint64_t size = bytes_->size();
    if (offset >= size) return std::size_t{0};
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(len, size - offset));
    std::memcpy(out, bytes_->data() + offset, n);
    return n;
}

}  // namespace pxed::tftp
