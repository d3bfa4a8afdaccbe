//! DLPack tensor descriptions checked for the frame path: residence, element type, 5-D
//! shape, C-contiguity, sizes; every refusal is a `ShapeError` naming what is wrong.

use inferwarden_cuda::dlpack::{
    plan, DlTensorInfo, Residence, CODE_BFLOAT, CODE_FLOAT, CODE_UINT, DEVICE_CPU, DEVICE_CUDA,
    DEVICE_CUDA_HOST,
};
use inferwarden_cuda::frames::DType;

fn info(code: u8, bits: u8, shape: &[i64]) -> DlTensorInfo {
    DlTensorInfo {
        device_type: DEVICE_CPU,
        device_id: 0,
        code,
        bits,
        lanes: 1,
        shape: shape.to_vec(),
        strides: None,
        byte_offset: 0,
    }
}

const SHAPE: [i64; 5] = [1, 3, 2, 4, 5];

fn refusal(i: &DlTensorInfo, reinterpret: Option<DType>) -> String {
    plan(i, reinterpret).expect_err("refused").0
}

#[test]
fn float_types_map_to_frame_dtypes_and_sizes() {
    for (code, bits, dtype, size) in [
        (CODE_FLOAT, 32, DType::F32, 4),
        (CODE_FLOAT, 16, DType::F16, 2),
        (CODE_BFLOAT, 16, DType::Bf16, 2),
    ] {
        let p = plan(&info(code, bits, &SHAPE), None).unwrap();
        assert_eq!(p.dtype, dtype);
        assert_eq!(p.shape, vec![1, 3, 2, 4, 5]);
        assert_eq!(p.byte_len, 120 * size);
        assert_eq!(p.residence, Residence::Host);
    }
}

#[test]
fn uint16_bit_patterns_are_read_only_when_asked() {
    let bits = info(CODE_UINT, 16, &SHAPE);
    assert!(refusal(&bits, None).contains("not float32, float16 or bfloat16"));
    assert_eq!(plan(&bits, Some(DType::Bf16)).unwrap().dtype, DType::Bf16);
    assert_eq!(plan(&bits, Some(DType::F16)).unwrap().dtype, DType::F16);
    // A size that does not match is refused, whatever the code.
    assert!(refusal(&bits, Some(DType::F32)).contains("16-bit element"));
    assert!(refusal(&info(CODE_FLOAT, 32, &SHAPE), Some(DType::Bf16)).contains("32-bit"));
    // Signed integers and other codes are not frame data even at the right size.
    assert!(refusal(&info(0, 16, &SHAPE), Some(DType::F16)).contains("code 0"));
    assert!(refusal(&info(0, 32, &SHAPE), None).contains("code 0"));
    let mut vector = info(CODE_FLOAT, 32, &SHAPE);
    vector.lanes = 4;
    assert!(refusal(&vector, None).contains("4 lanes"));
}

#[test]
fn only_five_dimensions_with_no_negative_size() {
    assert!(refusal(&info(CODE_FLOAT, 32, &[3, 4, 5]), None).contains("3 dimensions"));
    assert!(refusal(&info(CODE_FLOAT, 32, &[1, 3, -2, 4, 5]), None).contains("negative"));
    let huge = info(CODE_FLOAT, 32, &[i64::MAX, i64::MAX, 2, 2, 2]);
    assert!(refusal(&huge, None).contains("overflows"));
}

#[test]
fn strides_must_be_compact_row_major_except_on_unit_dimensions() {
    let mut i = info(CODE_FLOAT, 32, &SHAPE);
    i.strides = Some(vec![120, 40, 20, 5, 1]);
    assert!(plan(&i, None).is_ok());
    // The batch dimension of size 1 may carry any stride (torch reports several).
    i.strides = Some(vec![1, 40, 20, 5, 1]);
    assert!(plan(&i, None).is_ok());
    // A transposed or sliced view is not.
    i.strides = Some(vec![120, 1, 60, 15, 3]);
    assert!(refusal(&i, None).contains("not C-contiguous"));
    i.strides = Some(vec![240, 80, 40, 10, 2]);
    assert!(refusal(&i, None).contains("not C-contiguous"));
    i.strides = Some(vec![120, 40, 20, 5]);
    assert!(refusal(&i, None).contains("not C-contiguous"));
    // An empty tensor is compact whatever its strides.
    let mut empty = info(CODE_FLOAT, 32, &[0, 3, 2, 4, 5]);
    empty.strides = Some(vec![7, 7, 7, 7, 7]);
    assert_eq!(plan(&empty, None).unwrap().byte_len, 0);
}

#[test]
fn residence_follows_the_device_type() {
    let mut i = info(CODE_FLOAT, 16, &SHAPE);
    i.device_type = DEVICE_CUDA_HOST;
    assert_eq!(plan(&i, None).unwrap().residence, Residence::Host);
    i.device_type = DEVICE_CUDA;
    i.device_id = 1;
    assert_eq!(
        plan(&i, None).unwrap().residence,
        Residence::Device { ordinal: 1 }
    );
    i.device_type = 10; // ROCm
    assert!(refusal(&i, None).contains("device type 10"));
}

#[test]
fn the_byte_offset_is_kept_and_checked() {
    let mut i = info(CODE_FLOAT, 32, &SHAPE);
    i.byte_offset = 64;
    let p = plan(&i, None).unwrap();
    assert_eq!((p.byte_offset, p.byte_len), (64, 480));
    i.byte_offset = u64::MAX;
    assert!(refusal(&i, None).contains("overflows"));
}

#[test]
fn an_empty_tensor_with_a_huge_dimension_has_no_bytes_in_either_count() {
    // Found by the frame_tensor fuzz target: the plan's byte count met the zero first and
    // was 0, while `Dims::len` multiplied the huge dimensions first and overflowed.
    use inferwarden_cuda::frames::{Dims, Layout};
    let huge = i64::MAX / 2;
    let p = plan(&info(CODE_FLOAT, 32, &[0, huge, huge, 3, 3]), None).unwrap();
    assert_eq!(p.byte_len, 0);
    for layout in [Layout::Ncthw, Layout::Ntchw] {
        let dims = Dims::from_shape(&p.shape, layout).unwrap();
        assert!(dims.is_empty());
        assert_eq!(dims.len(), Some(0));
    }
    let d = Dims {
        n: 1,
        c: usize::MAX,
        t: 2,
        h: 0,
        w: 5,
    };
    assert_eq!(d.len(), Some(0));
    let full = Dims { h: 4, ..d };
    assert_eq!(full.len(), None, "an overflow is still an overflow");
    assert!(!full.is_empty());
}

#[test]
fn a_tensor_with_bytes_needs_a_data_pointer_and_an_empty_one_does_not() {
    let full = plan(&info(CODE_FLOAT, 32, &SHAPE), None).unwrap();
    assert_eq!(
        full.require_data(0, "DLPack tensor").unwrap_err().0,
        "DLPack tensor with no data"
    );
    assert!(full.require_data(0x1000, "DLPack tensor").is_ok());
    let empty = plan(&info(CODE_FLOAT, 32, &[1, 3, 0, 4, 5]), None).unwrap();
    assert_eq!(empty.byte_len, 0);
    assert!(empty.require_data(0, "DLPack tensor").is_ok());
}
