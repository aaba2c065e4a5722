#pragma once
/// What a codec returns: a value or the error that stopped it, never an
/// exception for bytes from the network. The codecs' result types (DHCP
/// decode and encode, TFTP decode) are this plus what each reports beside
/// its value (quirks tolerated, fields overloaded).

#include <utility>
#include <variant>

namespace pxed::wire {

/// A `T` or an `E`; the two must be different types.
template <typename T, typename E>
class result {
public:
    result(T value) : value_(std::move(value)) {}
    result(E error) : value_(std::move(error)) {}

    bool ok() const { return std::holds_alternative<T>(value_); }
    explicit operator bool() const { return ok(); }

    /// Precondition: ok().
    const T& value() const { return std::get<T>(value_); }
    T& value() { return std::get<T>(value_); }
    /// Precondition: !ok().
    const E& error() const { return std::get<E>(value_); }

private:
    std::variant<T, E> value_;
};

}  // namespace pxed::wire
