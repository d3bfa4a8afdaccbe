//! # inferwarden-cuda
//!
//! The GPU side of inferwarden. Today it holds the CPU reference path of the frame
//! post-processing kernel (the definition every GPU kernel is checked against); the driver
//! probe and the NVRTC-compiled kernels arrive with the CUDA dispatch work.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod frames;
