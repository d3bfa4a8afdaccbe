//! What a `__cuda_array_interface__` (version 0 to 3; cupy, numba, torch) describes, checked and
//! turned into the [`DlTensorInfo`] that [`crate::dlpack::plan`] reads, so both ways of handing
//! over a device tensor get the same checks and the same refusals. A binding copies the
//! dictionary's entries into [`ArrayInterface`] (plain values; no pointer is followed here).

use crate::dlpack::{DlTensorInfo, CODE_FLOAT, CODE_UINT, DEVICE_CUDA};
use crate::frames::ShapeError;

/// The entries of a `__cuda_array_interface__` dictionary, as plain values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrayInterface {
    /// `shape`.
    pub shape: Vec<i64>,
    /// `typestr` (`<f4`, `<f2`, `<u2`, ...).
    pub typestr: String,
    /// `data[0]`: the device address of the first element.
    pub address: u64,
    /// `strides` in bytes; `None` for a C-contiguous array.
    pub strides: Option<Vec<i64>>,
    /// `version`.
    pub version: i64,
    /// `stream`: the producer's stream to wait for; `None` when no wait is needed.
    pub stream: Option<i64>,
    /// Whether a `mask` was given (masked arrays are not frame data).
    pub masked: bool,
}

/// The newest interface version understood.
pub const MAX_VERSION: i64 = 3;

fn refuse(text: impl Into<String>) -> ShapeError {
    ShapeError(text.into())
}

impl ArrayInterface {
    /// The tensor as DLPack would describe it (device id `-1`: the interface does not say
    /// which device holds the memory, the driver is asked), and the producer's stream to
    /// wait for as a `CUstream` handle value.
    pub fn tensor_info(&self) -> Result<(DlTensorInfo, Option<u64>), ShapeError> {
        if !(0..=MAX_VERSION).contains(&self.version) {
            return Err(refuse(format!(
                "__cuda_array_interface__ version {} is not supported (0 to {MAX_VERSION})",
                self.version
            )));
        }
        if self.masked {
            return Err(refuse(
                "a masked __cuda_array_interface__ array is not frame data",
            ));
        }
        let malformed = || refuse(format!("typestr {:?} is malformed", self.typestr));
        let (order, kind, size) = match self.typestr.as_bytes() {
            [order, kind, digits @ ..]
                if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) =>
            {
                let size: u8 = std::str::from_utf8(digits)
                    .ok()
                    .and_then(|d| d.parse().ok())
                    .ok_or_else(malformed)?;
                (*order, *kind, size)
            }
            _ => return Err(malformed()),
        };
        if size == 0 {
            return Err(malformed());
        }
        if order == b'>' && size > 1 {
            return Err(refuse(format!(
                "typestr {:?} is big-endian; frames are read little-endian",
                self.typestr
            )));
        }
        if !matches!(order, b'<' | b'|' | b'=' | b'>') {
            return Err(refuse(format!("typestr {:?} is malformed", self.typestr)));
        }
        let code = match kind {
            b'f' => CODE_FLOAT,
            b'u' => CODE_UINT,
            // Any other kind is refused by the element-type check with its own words.
            b'i' => 0,
            b'b' => 6,
            b'c' => 5,
            _ => {
                return Err(refuse(format!(
                    "typestr {:?} is not a numeric element type",
                    self.typestr
                )))
            }
        };
        let bits = size
            .checked_mul(8)
            .ok_or_else(|| refuse(format!("typestr {:?} is too wide", self.typestr)))?;
        let strides = match &self.strides {
            None => None,
            Some(bytes) => Some(
                bytes
                    .iter()
                    .map(|&s| {
                        if s % i64::from(size) == 0 {
                            Ok(s / i64::from(size))
                        } else {
                            Err(refuse(
                                "the array's strides are not whole elements: it is not \
                                 C-contiguous",
                            ))
                        }
                    })
                    .collect::<Result<Vec<i64>, _>>()?,
            ),
        };
        let stream =
            match self.stream {
                None => None,
                Some(0) => return Err(refuse(
                    "__cuda_array_interface__ stream 0 is ambiguous and not allowed (version 3)",
                )),
                Some(s) => Some(
                    u64::try_from(s)
                        .map_err(|_| refuse(format!("__cuda_array_interface__ stream {s}")))?,
                ),
            };
        Ok((
            DlTensorInfo {
                device_type: DEVICE_CUDA,
                device_id: -1,
                code,
                bits,
                lanes: 1,
                shape: self.shape.clone(),
                strides,
                byte_offset: 0,
            },
            stream,
        ))
    }
}
