// Streams: the order in which device work is queued. The CUDA backend (autodiff/backend_cuda.cpp)
// makes them; the CPU has none.
#pragma once
#include <memory>

namespace gt {

// Device work is queued, in order, on the calling thread's current stream. A model on the GPU owns a
// stream (nn::Model::to), and its forward and backward run there (Model::operator(), the tape), so
// models driven from different threads overlap on the device. A thread still sees its own work in
// order: a switch of stream (StreamScope) makes the new stream wait for all that the old one has
// queued. By induction the current stream always follows everything the thread queued before, so
// memory freed there may be reused there at once. Across threads nothing is ordered: a thread that
// hands a GPU tensor to another calls Backend::synchronize() first (a host tensor needs nothing).
// The CPU runs each op when called: no streams.
class Stream {
 public:
  virtual ~Stream() = default;
  // Work queued on `to` from now on waits for the work queued so far on `from` (nullptr: the
  // device's default stream). This stream is one of the two.
  virtual void order(const Stream* from, const Stream* to) const = 0;
};
using StreamPtr = std::shared_ptr<Stream>;

// The calling thread's stream: nullptr, the device's default stream, outside every StreamScope.
const StreamPtr& current_stream();

// Makes s the thread's stream while alive, then returns to the previous one. use() switches again
// within the scope (the tape's backward follows each node's stream with one scope).
class StreamScope {
 public:
  explicit StreamScope(StreamPtr s);
  ~StreamScope();
  StreamScope(const StreamScope&) = delete;
  StreamScope& operator=(const StreamScope&) = delete;
  void use(StreamPtr s);

 private:
  StreamPtr previous_;
};

}  // namespace gt
