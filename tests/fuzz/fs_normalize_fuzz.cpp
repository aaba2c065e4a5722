// libFuzzer target: request path normalisation, the first thing every TFTP,
// HTTP and FTP request goes through. A normalised path never contains a
// ".." component, a NUL or a leading slash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pxed/fs/namespace.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view request(reinterpret_cast<const char*>(data), size);
    const auto r = pxed::fs::file_namespace::normalize(request);
    if (!r) return 0;
    const std::string& p = *r;
    if (!p.empty() && p.front() == '/') std::abort();
    if (p.find('\0') != std::string::npos) std::abort();
    std::size_t start = 0;
    while (start <= p.size()) {
        auto end = p.find('/', start);
        if (end == std::string::npos) end = p.size();
        const auto part = std::string_view(p).substr(start, end - start);
        if (part == ".." || part == "." || (part.empty() && !p.empty())) std::abort();
        start = end + 1;
    }
    return 0;
}
