//! `__cuda_array_interface__` descriptions become the DLPack description the frame path
//! checks: element types from `typestr`, byte strides to element strides, the producer's
//! stream, and a refusal with its reason for everything that is not frame data.

use inferwarden_cuda::array_interface::ArrayInterface;
use inferwarden_cuda::dlpack::{plan, Residence, CODE_FLOAT, CODE_UINT, DEVICE_CUDA};
use inferwarden_cuda::frames::DType;

fn interface(typestr: &str) -> ArrayInterface {
    ArrayInterface {
        shape: vec![1, 3, 2, 4, 4],
        typestr: typestr.to_owned(),
        address: 0x7f00_0000_0000,
        strides: None,
        version: 3,
        stream: None,
        masked: false,
    }
}

fn refusal(a: &ArrayInterface) -> String {
    match a.tensor_info() {
        Err(e) => e.0,
        Ok((info, _)) => plan(&info, None).unwrap_err().0,
    }
}

#[test]
fn element_types_come_from_typestr() {
    let (info, stream) = interface("<f4").tensor_info().unwrap();
    assert_eq!((info.code, info.bits, info.lanes), (CODE_FLOAT, 32, 1));
    assert_eq!(info.device_type, DEVICE_CUDA);
    assert_eq!(
        info.device_id, -1,
        "the interface does not say which device"
    );
    assert_eq!(stream, None);
    let p = plan(&info, None).unwrap();
    assert_eq!(p.dtype, DType::F32);
    assert_eq!(p.residence, Residence::Device { ordinal: -1 });
    assert_eq!(p.byte_len, 96 * 4);

    let (half, _) = interface("<f2").tensor_info().unwrap();
    assert_eq!(plan(&half, None).unwrap().dtype, DType::F16);
    // A uint16 array of bfloat16 bit patterns, read as asked.
    let (bits, _) = interface("<u2").tensor_info().unwrap();
    assert_eq!(bits.code, CODE_UINT);
    assert_eq!(plan(&bits, Some(DType::Bf16)).unwrap().dtype, DType::Bf16);
    assert!(plan(&bits, None).is_err());
    // `|` (not applicable) and `=` (native, little-endian here) byte orders.
    assert!(interface("=f4").tensor_info().is_ok());
}

#[test]
fn byte_strides_become_element_strides() {
    let mut a = interface("<f2");
    a.strides = Some(vec![192, 64, 32, 8, 2]);
    let (info, _) = a.tensor_info().unwrap();
    assert_eq!(info.strides, Some(vec![96, 32, 16, 4, 1]));
    assert!(plan(&info, None).is_ok());
    // A transposed view is refused as not C-contiguous.
    a.strides = Some(vec![192, 64, 2, 16, 4]);
    assert!(refusal(&a).contains("not C-contiguous"), "{}", refusal(&a));
    // A stride that is not a whole number of elements.
    a.strides = Some(vec![192, 64, 32, 8, 3]);
    assert!(
        refusal(&a).contains("not whole elements"),
        "{}",
        refusal(&a)
    );
}

#[test]
fn the_producer_stream_is_waited_for_and_stream_zero_is_refused() {
    let mut a = interface("<f4");
    a.stream = Some(1);
    assert_eq!(a.tensor_info().unwrap().1, Some(1));
    a.stream = Some(0x5555_0000);
    assert_eq!(a.tensor_info().unwrap().1, Some(0x5555_0000));
    a.stream = Some(0);
    assert!(refusal(&a).contains("stream 0"), "{}", refusal(&a));
    a.stream = Some(-3);
    assert!(a.tensor_info().is_err());
}

#[test]
fn what_is_not_frame_data_is_refused_with_its_reason() {
    let cases: [(ArrayInterface, &str); 12] = [
        (interface("<f0"), "malformed"),
        (interface("\u{2039}\u{20ac}"), "malformed"),
        (interface("<f+4"), "malformed"),
        (interface(">f4"), "big-endian"),
        (interface("<i4"), "not float32, float16 or bfloat16"),
        (interface("|b1"), "not float32, float16 or bfloat16"),
        (interface("<c8"), "not float32, float16 or bfloat16"),
        (interface("<M8"), "not a numeric element type"),
        (interface("f"), "malformed"),
        (interface("<fx"), "malformed"),
        (
            ArrayInterface {
                masked: true,
                ..interface("<f4")
            },
            "masked",
        ),
        (
            ArrayInterface {
                version: 4,
                ..interface("<f4")
            },
            "version 4",
        ),
    ];
    for (a, reason) in cases {
        let got = refusal(&a);
        assert!(got.contains(reason), "{:?}: {got}", a.typestr);
    }
    let four_d = ArrayInterface {
        shape: vec![3, 2, 4, 4],
        ..interface("<f4")
    };
    assert!(refusal(&four_d).contains("5-D"));
    let negative = ArrayInterface {
        shape: vec![1, 3, -2, 4, 4],
        ..interface("<f4")
    };
    assert!(refusal(&negative).contains("negative"));
    // A read of 1-byte elements as bfloat16 is refused by size.
    let (bytes, _) = interface("|u1").tensor_info().unwrap();
    assert!(plan(&bytes, Some(DType::Bf16)).is_err());
}
