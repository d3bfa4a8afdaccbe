//! Every `.cu` kernel compiles with NVRTC for sm_80 and sm_90. No GPU is needed: the test
//! command installs NVRTC from the PyPI wheel `nvidia-cuda-nvrtc-cu12` into its venv, points
//! `LD_LIBRARY_PATH` at it and sets `INFERWARDEN_REQUIRE_NVRTC=1`, so there a missing NVRTC is a
//! failure, never a skip.

use inferwarden_cuda::kernels::{compile_frames, nvrtc_present, FRAMES_KERNELS, SUPPORTED_ARCHS};

#[test]
fn frame_kernels_compile_for_sm80_and_sm90() {
    if !nvrtc_present() {
        assert!(
            std::env::var("INFERWARDEN_REQUIRE_NVRTC").is_err(),
            "NVRTC is required (INFERWARDEN_REQUIRE_NVRTC=1) but not loadable"
        );
        eprintln!("NVRTC not available: run scripts/test.sh to compile the kernels");
        assert!(compile_frames("sm_80").is_err());
        return;
    }
    for arch in SUPPORTED_ARCHS {
        let ptx = compile_frames(arch).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            ptx.contains(&format!(".target {arch}")),
            "{arch}: wrong target"
        );
        for kernel in FRAMES_KERNELS {
            assert!(
                ptx.contains(&format!(".entry {kernel}")),
                "{arch}: {kernel} missing"
            );
        }
        // Cached: the second call returns the same text.
        assert_eq!(compile_frames(arch).unwrap(), ptx);
    }
    assert!(compile_frames("sm_50").is_err());
}
