/*
 * read_ahead.h — two threads in a pipeline: a producer fills buffers that
 * the calling thread then consumes, in the order they were filled. A fixed
 * number of buffers circulates between them, so memory stays bounded
 * however far ahead the producer could run, and each buffer is reused
 * (what it allocated is kept). The consumer runs in the calling thread:
 * what it calls needs no locking. An exception on either side stops both
 * and is rethrown to the caller once the producer has ended.
 */
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

namespace qprof {

template <typename Buffer> class ReadAhead {
  public:
    explicit ReadAhead(size_t buffers)
        : buffers_(new Buffer[buffers < 2 ? 2 : buffers]) {
        for (size_t i = 0; i < (buffers < 2 ? 2 : buffers); ++i)
            free_.push_back(&buffers_[i]);
    }
    ReadAhead(const ReadAhead &) = delete;
    ReadAhead &operator=(const ReadAhead &) = delete;

    /* Producer: a buffer to fill, as the consumer left it (waits until
     * one is free). */
    Buffer &empty_buffer() {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [this] { return cancelled_ || !free_.empty(); });
        if (cancelled_)
            throw Cancelled();
        Buffer *buffer = free_.front();
        free_.pop_front();
        return *buffer;
    }

    /* Producer: hands a buffer from empty_buffer(), filled, to the
     * consumer. */
    void publish(Buffer &buffer) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (cancelled_)
            throw Cancelled();
        full_.push_back(&buffer);
        changed_.notify_all();
    }

    /* Runs produce() in a second thread and consume(buffer) here for each
     * buffer it publishes, in order, until produce() returns and every
     * buffer is consumed. Rethrows the first exception of either. */
    template <typename Produce, typename Consume>
    void run(Produce produce, Consume consume) {
        std::thread producer([this, &produce] {
            try {
                produce();
            } catch (const Cancelled &) {
            } catch (...) {
                std::lock_guard<std::mutex> lock(mutex_);
                producer_error_ = std::current_exception();
            }
            std::lock_guard<std::mutex> lock(mutex_);
            produced_ = true;
            changed_.notify_all();
        });
        try {
            for (;;) {
                Buffer *buffer = nullptr;
                {
                    std::unique_lock<std::mutex> lock(mutex_);
                    changed_.wait(
                        lock, [this] { return produced_ || !full_.empty(); });
                    if (full_.empty())
                        break;
                    buffer = full_.front();
                    full_.pop_front();
                }
                consume(*buffer);
                std::lock_guard<std::mutex> lock(mutex_);
                free_.push_back(buffer);
                changed_.notify_all();
            }
        } catch (...) {
            {
                std::lock_guard<std::mutex> lock(mutex_);
                cancelled_ = true;
                changed_.notify_all();
            }
            producer.join();
            throw;
        }
        producer.join();
        if (producer_error_)
            std::rethrow_exception(producer_error_);
    }

  private:
    /* thrown to the producer when the consumer has stopped */
    struct Cancelled {};

    std::unique_ptr<Buffer[]> buffers_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Buffer *> free_, full_;
    bool produced_ = false, cancelled_ = false;
    std::exception_ptr producer_error_;
};

} // namespace qprof
