#pragma once
/// Reading site.yaml into the site model.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "pxed/inventory/diagnostic.hpp"
#include "pxed/inventory/site.hpp"

namespace pxed::inventory {

struct load_options {
    /// Check that the TFTP root, tree directories, kernels and initrds exist.
    /// `pxed render` turns this off so a site can be previewed on any machine.
    bool check_files = true;
    /// Read secret files (`secrets:`, access.api.keys_file). Off, secrets
    /// show as "<secret NAME>" and no key is read: `pxed render` without
    /// --show-secrets.
    bool read_secrets = true;
    /// Read the host entries of a large inventory without yaml-cpp's node
    /// tree where they have the simple shape (docs/site-yaml.md, "Large
    /// inventories"); the result is the same either way. Off: every entry
    /// through the tree (the tests compare the two).
    bool fast_hosts = true;
};

struct load_result {
    /// Set when there are no errors (warnings allowed).
    std::shared_ptr<const site> model;
    std::vector<diagnostic> diagnostics;
};

/// Relative paths in the file are taken relative to the file's directory.
load_result load_file(const std::string& path, const load_options& options = {});

/// `name` is used in diagnostics; relative paths resolve against `base_dir`.
load_result load_string(const std::string& yaml, const std::string& name, const std::string& base_dir,
                        const load_options& options = {});

/// A secret's value as written in site.yaml, and the byte offset of its
/// YAML node (where its text starts, quote or block indicator included).
struct secret_span {
    std::string value;
    std::size_t offset = 0;
};

/// site::fingerprint of `text`: FNV-1a-64 in hex, each of `spans`
/// overwritten where it stands (a block scalar's lines one by one); empty
/// when a secret is not there verbatim (escapes in a double-quoted string).
std::string fingerprint(std::string text, const std::vector<secret_span>& spans);

/// "30s", "5m", "12h", "1d", "1h30m" or plain seconds ("3600").
std::optional<seconds> parse_duration(const std::string& text);

}  // namespace pxed::inventory
