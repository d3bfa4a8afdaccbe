//! CUDA kernel sources (`cuda/kernels/*.cu`), compiled at run time by NVRTC for a device's
//! compute capability and cached per architecture. NVRTC is loaded dynamically; when it is
//! absent, compilation reports that instead of panicking.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// The frame post-processing kernels.
pub const FRAMES_SOURCE: &str = include_str!("../kernels/frames.cu");

/// Kernel entry points in [`FRAMES_SOURCE`]: per input type, one for any shape and one for
/// three channels with `H*W` divisible by 4 (vector loads).
pub const FRAMES_KERNELS: [&str; 6] = [
    "frames_f32_to_u8",
    "frames_f16_to_u8",
    "frames_bf16_to_u8",
    "frames_f32_rgb4",
    "frames_f16_rgb4",
    "frames_bf16_rgb4",
];

/// Architectures the test command compiles for.
pub const SUPPORTED_ARCHS: [&str; 2] = ["sm_80", "sm_90"];

/// Whether the NVRTC library can be loaded.
pub fn nvrtc_present() -> bool {
    static PRESENT: OnceLock<bool> = OnceLock::new();
    // SAFETY: only tries to dlopen the NVRTC library by name.
    #[allow(unsafe_code)]
    *PRESENT.get_or_init(|| unsafe { cudarc::nvrtc::sys::is_culib_present() })
}

/// Every architecture [`compile_frames`] accepts, oldest first.
const COMPILABLE_ARCHS: [(i32, i32, &str); 5] = [
    (7, 5, "sm_75"),
    (8, 0, "sm_80"),
    (8, 6, "sm_86"),
    (8, 9, "sm_89"),
    (9, 0, "sm_90"),
];

fn arch_name(arch: &str) -> Option<&'static str> {
    COMPILABLE_ARCHS
        .iter()
        .map(|(_, _, name)| *name)
        .find(|a| *a == arch)
}

/// The architecture to compile for on a device of compute capability `(major, minor)`: its
/// own when listed, otherwise the newest listed one below it (the driver JIT-compiles that
/// PTX for newer devices, such as sm_100 or sm_120). `None` below sm_75.
pub fn arch_for_capability(major: i32, minor: i32) -> Option<&'static str> {
    COMPILABLE_ARCHS
        .iter()
        .rev()
        .find(|(ma, mi, _)| (*ma, *mi) <= (major, minor))
        .map(|(_, _, name)| *name)
}

/// Compiles the frame kernels to PTX for `arch` (`sm_75`, `sm_80`, `sm_86`, `sm_89`, `sm_90`); cached
/// per architecture. Errors are human-readable strings (NVRTC log included).
pub fn compile_frames(arch: &str) -> Result<String, String> {
    static CACHE: OnceLock<Mutex<HashMap<&'static str, String>>> = OnceLock::new();
    let arch = arch_name(arch).ok_or_else(|| format!("unsupported architecture {arch:?}"))?;
    if !nvrtc_present() {
        return Err("NVRTC (libnvrtc) is not available on this machine".to_owned());
    }
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(ptx) = cache
        .lock()
        .map_err(|_| "kernel cache poisoned".to_owned())?
        .get(arch)
    {
        return Ok(ptx.clone());
    }
    let opts = cudarc::nvrtc::CompileOptions {
        arch: Some(arch),
        ..Default::default()
    };
    let compiled =
        std::panic::catch_unwind(|| cudarc::nvrtc::compile_ptx_with_opts(FRAMES_SOURCE, opts))
            .map_err(|_| "NVRTC panicked".to_owned())?
            .map_err(|e| format!("NVRTC failed for {arch}: {e}"))?;
    let ptx = compiled.to_src().to_owned();
    cache
        .lock()
        .map_err(|_| "kernel cache poisoned".to_owned())?
        .insert(arch, ptx.clone());
    Ok(ptx)
}
