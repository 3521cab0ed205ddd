// Bounds on what a file may make gradtrace allocate. A weights file, an image or a dataset is
// untrusted input: every parser checks the sizes a file claims before it allocates anything.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace gt {

// The most bytes one tensor read from a file may take: 4 GiB, or the environment variable
// GRADTRACE_MAX_TENSOR_BYTES (a byte count; read once).
uint64_t max_tensor_bytes();

// The bytes that a tensor of shape `dims` with elem_size-byte elements claims. Throws, naming the file
// and the tensor, for a negative dimension, or a size that overflows or exceeds max_tensor_bytes().
uint64_t claimed_bytes(const std::string& file, const std::string& tensor, const std::vector<int64_t>& dims,
                       uint64_t elem_size);

// A whole file's bytes, refused above max_bytes before anything is read. Errors read
// "<what>: cannot read (<why>)".
std::vector<uint8_t> read_file(const std::string& path, uint64_t max_bytes, const std::string& what);

// "4.0 TiB", "512.0 MiB": a byte count for messages.
std::string human_bytes(double bytes);

}  // namespace gt
