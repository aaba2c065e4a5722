#pragma once
// A directory under /tmp for one test, removed with all it holds when the
// object goes (after the fixture's TearDown, so servers are stopped first).

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace pxed::testing {

class temp_dir {
public:
    /// Creates /tmp/pxed-`name`-XXXXXX.
    explicit temp_dir(const std::string& name) {
        std::string tmpl = "/tmp/pxed-" + name + "-XXXXXX";
        if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("cannot create " + tmpl);
        path_ = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::string& path() const { return path_; }

private:
    std::string path_;
};

}  // namespace pxed::testing
