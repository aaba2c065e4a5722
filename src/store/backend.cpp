#include "pxed/store/backend.hpp"

#include <stdexcept>

#ifdef PXED_HAVE_POSTGRES
#include "pg.hpp"
#endif

namespace pxed::store {

namespace {
[[maybe_unused]] const char* no_postgres =
    "this pxed was built without PostgreSQL support (the static binary of the CentOS 7 RPM cannot link libpq); "
    "use server.store.backend: sqlite, or a build with libpq";
}

std::unique_ptr<lease_backend> open_lease_backend(const store_options& o) {
    if (o.kind == backend_kind::postgresql) {
#ifdef PXED_HAVE_POSTGRES
        return pg::open_lease_store(o.postgres);
#else
        throw std::runtime_error(no_postgres);
#endif
    }
    return std::make_unique<lease_store>(o.state_dir + "/" + lease_file_name, o.sqlite_durability);
}

std::unique_ptr<host_backend> open_host_backend(const store_options& o) {
    if (o.kind == backend_kind::postgresql) {
#ifdef PXED_HAVE_POSTGRES
        return pg::open_host_store(o.postgres);
#else
        throw std::runtime_error(no_postgres);
#endif
    }
    return std::make_unique<host_store>(o.state_dir + "/" + host_file_name, o.sqlite_durability);
}

std::unique_ptr<trace_backend> open_trace_backend(const store_options& o) {
    if (o.kind == backend_kind::postgresql) {
#ifdef PXED_HAVE_POSTGRES
        return pg::open_trace_store(o.postgres);
#else
        throw std::runtime_error(no_postgres);
#endif
    }
    return std::make_unique<trace_store>(o.state_dir + "/" + trace_file_name);
}

std::string check_postgres(const postgres_options& o) {
#ifdef PXED_HAVE_POSTGRES
    return pg::check(o);
#else
    (void)o;
    return no_postgres;
#endif
}

bool postgres_supported() {
#ifdef PXED_HAVE_POSTGRES
    return true;
#else
    return false;
#endif
}

}  // namespace pxed::store
