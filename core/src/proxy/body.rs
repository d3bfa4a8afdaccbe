//! A remote response body, read chunk by chunk (results and previews are streamed to the
//! caller, never buffered whole). Reading errors are sanitized like every proxy failure;
//! `Debug` never prints the URL.

use super::failure::{transport_kind, unavailable};
use crate::error::Error;

/// Content types a result or preview may have, exactly (parameters ignored); anything else
/// (HTML, SVG, scripts, ...) is refused so a remote cannot serve active content from the
/// gateway's origin. Gateways should also send `X-Content-Type-Options: nosniff`.
pub const MEDIA_CONTENT_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/gif",
    "image/avif",
    "video/mp4",
    "video/webm",
    "video/quicktime",
    "application/octet-stream",
];

/// A successful (2xx) remote response whose body has not been read yet.
pub struct RemoteBody {
    status: u16,
    content_type: Option<String>,
    content_length: Option<u64>,
    attempts: u32,
    response: Option<reqwest::Response>,
}

impl std::fmt::Debug for RemoteBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteBody")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("content_length", &self.content_length)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

impl RemoteBody {
    pub(crate) fn new(response: reqwest::Response, attempts: u32) -> Self {
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase());
        RemoteBody {
            status: response.status().as_u16(),
            content_type,
            content_length: response.content_length(),
            attempts,
            response: Some(response),
        }
    }

    /// The remote status (always 2xx).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The remote content type, lowercased, if any.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The announced length, if any.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// Attempts used (retries included).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// `remote_unavailable` (reason `content_type`) unless the content type is a media type
    /// of [`MEDIA_CONTENT_TYPES`].
    pub fn require_media(self) -> Result<Self, Error> {
        let essence = self
            .content_type
            .as_deref()
            .map(|c| c.split(';').next().unwrap_or_default().trim());
        match essence {
            Some(c) if MEDIA_CONTENT_TYPES.contains(&c) => Ok(self),
            _ => Err(unavailable("content_type")),
        }
    }

    /// The next chunk, or `None` at the end. A read that stalls longer than the route's read
    /// timeout is `remote_unavailable` (reason `timeout`).
    pub async fn chunk(&mut self) -> Result<Option<Vec<u8>>, Error> {
        let Some(response) = self.response.as_mut() else {
            return Ok(None);
        };
        match response.chunk().await {
            Ok(Some(bytes)) => Ok(Some(bytes.to_vec())),
            Ok(None) => {
                self.response = None;
                Ok(None)
            }
            Err(e) => {
                self.response = None;
                Err(unavailable(transport_kind(&e)))
            }
        }
    }

    /// The whole body, refusing more than `max_bytes` (`remote_unavailable`, reason
    /// `too_large`).
    pub async fn read_to_end(mut self, max_bytes: usize) -> Result<Vec<u8>, Error> {
        if self.content_length.is_some_and(|n| n > max_bytes as u64) {
            return Err(unavailable("too_large"));
        }
        let mut out = Vec::new();
        while let Some(chunk) = self.chunk().await? {
            if out.len() + chunk.len() > max_bytes {
                return Err(unavailable("too_large"));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }
}

/// A [`RemoteBody`] that several handles can read in turn (the bindings hand one to the
/// host language's iterator objects). A read holds the body's lock only while it waits for
/// one chunk. A read that is cancelled (an asyncio timeout, a dropped promise) releases the
/// lock when its task is dropped, which the runtime does a moment after the cancellation,
/// so a read that finds the lock held waits up to `SHARED_READ_GRACE` (1 s) for it; a read still
/// in flight after that makes the second one `validation_error`. Cloning shares the body.
#[derive(Debug, Clone)]
pub struct SharedBody {
    cell: std::sync::Arc<tokio::sync::Mutex<RemoteBody>>,
}

/// How long a read waits for the one before it (a cancelled read's task being dropped)
/// before it is refused as concurrent.
pub const SHARED_READ_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

fn busy() -> Error {
    Error::with_detail(
        crate::error::ErrorCode::ValidationError,
        "the body is being read by another call",
    )
}

impl SharedBody {
    /// Shares `body`.
    pub fn new(body: RemoteBody) -> Self {
        SharedBody {
            cell: std::sync::Arc::new(tokio::sync::Mutex::new(body)),
        }
    }

    /// The next chunk, or `None` at the end (and after a failure).
    pub async fn next_chunk(&self) -> Result<Option<Vec<u8>>, Error> {
        let mut body = match self.cell.try_lock() {
            Ok(body) => body,
            Err(_) => tokio::time::timeout(SHARED_READ_GRACE, self.cell.lock())
                .await
                .map_err(|_| busy())?,
        };
        body.chunk().await
    }

    /// The rest of the body, refusing more than `max_bytes` (`remote_unavailable`, reason
    /// `too_large`).
    pub async fn read_rest(&self, max_bytes: usize) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        while let Some(c) = self.next_chunk().await? {
            if out.len() + c.len() > max_bytes {
                return Err(unavailable("too_large"));
            }
            out.extend_from_slice(&c);
        }
        Ok(out)
    }
}
