//! Worker error text to `gpu_memory_exceeded`: any text containing "out of memory" or
//! "cuda oom" (case-insensitive). The worker's text itself is not copied into the error (it
//! can hold paths and prompts).

use crate::error::{Error, ErrorCode};

/// `Some(gpu_memory_exceeded)` when `text` reports a CUDA out-of-memory condition.
pub fn classify_worker_error(text: &str) -> Option<Error> {
    let lower = text.to_ascii_lowercase();
    (lower.contains("out of memory") || lower.contains("cuda oom"))
        .then(|| Error::new(ErrorCode::GpuMemoryExceeded))
}
