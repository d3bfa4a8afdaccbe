//! # inferwarden-cuda
//!
//! The GPU side of inferwarden: the driver-API device probe (no `nvidia-smi` process; no
//! driver or no device is an ordinary answer, never a panic) and the CPU reference path of
//! the frame post-processing kernel that GPU kernels are checked against, the CUDA kernel
//! sources with their NVRTC compilation, and the GPU path that launches them. Dispatch POLICY
//! lives in the `inferwarden` crate; this crate only talks to the device.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod array_interface;
pub mod device_frames;
pub mod dlpack;
pub mod frames;
pub mod gpu;
pub mod kernels;
#[cfg(feature = "nvml")]
pub mod nvml;
pub mod probe;
