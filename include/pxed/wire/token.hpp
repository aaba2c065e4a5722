#pragma once
/// Secrets pxed hands to hosts: random tokens and their comparison.

#include <cstddef>
#include <string>
#include <string_view>

namespace pxed::wire {

/// `bytes` random bytes from the kernel's CSPRNG (getrandom(2), or
/// /dev/urandom where the kernel predates it), as lower-case hex.
/// Throws std::runtime_error when neither gives randomness: a token pxed
/// could not make unguessable must not be made at all.
std::string random_token(std::size_t bytes = 16);

/// Equality whose time depends only on the lengths, not on where the first
/// difference is: for tokens a client sends, so that timing cannot guess
/// one byte at a time.
bool constant_time_equal(std::string_view a, std::string_view b);

/// The first `keep` characters of a token and an ellipsis: enough to tell
/// two tokens apart in a log, too little to use one.
std::string token_prefix(std::string_view token, std::size_t keep = 6);

/// The value of `name` in a query string ("token=ab12&x=y"), as sent (no
/// percent-decoding: tokens and keys are hex, so an escaped one simply does
/// not match); empty when absent.
std::string query_value(std::string_view query, std::string_view name);

/// Text as it may be logged: the value after every `token=` or `token%3D`
/// (any case, anywhere) cut to its token_prefix(). The logger applies it
/// to every line, so no code path can log a whole token.
std::string redact_tokens(std::string_view target);

/// Whether redact_tokens() has anything to do: "token" in any case. Most
/// text has no such word; callers check first and copy nothing (every log
/// line and every request's target passes here).
bool mentions_token(std::string_view text);

}  // namespace pxed::wire
