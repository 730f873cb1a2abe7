//! Runs an ONNX session through the runtime's C API and copies its outputs out.
//!
//! `ort` 2.0.0-rc.14 leaks one `OrtTypeInfo` for every tensor a run returns
//! (`Value::from_session_output_ptr` gets it and never releases it): about 240 bytes per output
//! with ONNX Runtime and 56 with tract, three outputs per decoder step, so a 4-bar melody
//! leaked about 50 KB and the plugin grew with every knob move. Here a run's outputs are read
//! and released by hand, so nothing stays behind. The same `OrtApi` serves both backends.

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr;

use ort::session::Session;
use ort::sys::{ONNXTensorElementDataType, OrtStatusPtr, OrtValue};
use ort::value::DynValue;
use ort::AsPointer;

/// Input and output names of a session, as C strings, made once.
#[derive(Debug)]
pub struct Names {
    inputs: Vec<CString>,
    outputs: Vec<CString>,
}

impl Names {
    pub fn new<'a>(
        inputs: impl IntoIterator<Item = &'a str>,
        outputs: impl IntoIterator<Item = &'a str>,
    ) -> Names {
        // Names come from the model file's contract: no NUL inside.
        let c = |s: &str| CString::new(s).unwrap_or_default();
        Names {
            inputs: inputs.into_iter().map(c).collect(),
            outputs: outputs.into_iter().map(c).collect(),
        }
    }
}

/// The outputs of one run, released when dropped.
struct Outputs(Vec<*mut OrtValue>);

impl Drop for Outputs {
    fn drop(&mut self) {
        let api = ort::api();
        for &value in self.0.iter().filter(|v| !v.is_null()) {
            // Safety: each is an output value this run made and nothing else holds.
            unsafe { (api.ReleaseValue)(value) };
        }
    }
}

/// An error from a status the runtime returned (released here); `Ok` for success.
fn check(status: OrtStatusPtr) -> Result<(), ort::Error> {
    if status.0.is_null() {
        return Ok(());
    }
    let api = ort::api();
    // Safety: a non-null status from the runtime, read then released once.
    let message = unsafe {
        let text = (api.GetErrorMessage)(status.0);
        let message = if text.is_null() {
            "unknown error".to_string()
        } else {
            CStr::from_ptr(text).to_string_lossy().into_owned()
        };
        (api.ReleaseStatus)(status.0);
        message
    };
    Err(ort::Error::new(message))
}

/// Runs `session` on `inputs` (in the order of `names`' inputs) and copies each float output,
/// in the order of `names`' outputs, into `out`: each must have exactly as many values.
pub fn run_into(
    session: &Session,
    names: &Names,
    inputs: &[&DynValue],
    out: &mut [&mut [f32]],
) -> Result<(), ort::Error> {
    if inputs.len() != names.inputs.len() || out.len() != names.outputs.len() {
        return Err(ort::Error::new("inputs or outputs do not match their names"));
    }
    let api = ort::api();
    let input_names: Vec<*const c_char> = names.inputs.iter().map(|n| n.as_ptr()).collect();
    let output_names: Vec<*const c_char> = names.outputs.iter().map(|n| n.as_ptr()).collect();
    let values: Vec<*const OrtValue> = inputs.iter().map(|v| v.ptr()).collect();
    let mut outputs = Outputs(vec![ptr::null_mut(); out.len()]);
    // Safety: the session, names and values are alive for the call; the runtime fills
    // `outputs` with values this side owns (released by `Outputs`). A session runs on one
    // thread at a time here (`Generator` takes `&mut self`).
    check(unsafe {
        (api.Run)(
            session.ptr().cast_mut(),
            ptr::null(),
            input_names.as_ptr(),
            values.as_ptr(),
            values.len(),
            output_names.as_ptr(),
            output_names.len(),
            outputs.0.as_mut_ptr(),
        )
    })?;
    for ((&value, dest), name) in outputs.0.iter().zip(out.iter_mut()).zip(&names.outputs) {
        let name = name.to_string_lossy();
        if value.is_null() {
            return Err(ort::Error::new(format!("the run gave no output {name}")));
        }
        let (mut count, mut element) =
            (0usize, ONNXTensorElementDataType::ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED);
        // Safety: `value` is a live output; its shape information is released at once.
        unsafe {
            let mut info = ptr::null_mut();
            check((api.GetTensorTypeAndShape)(value, &mut info))?;
            let counted = check((api.GetTensorShapeElementCount)(info, &mut count));
            let typed = check((api.GetTensorElementType)(info, &mut element));
            (api.ReleaseTensorTypeAndShapeInfo)(info);
            counted?;
            typed?;
        }
        if element != ONNXTensorElementDataType::ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT {
            return Err(ort::Error::new(format!("output {name} is not a float tensor")));
        }
        if count != dest.len() {
            return Err(ort::Error::new(format!(
                "output {name} has {count} values, expected {}",
                dest.len()
            )));
        }
        let mut data: *mut c_void = ptr::null_mut();
        // Safety: a float tensor of `count` values, read before it is released.
        unsafe {
            check((api.GetTensorMutableData)(value, &mut data))?;
            if count > 0 {
                dest.copy_from_slice(std::slice::from_raw_parts(data.cast::<f32>(), count));
            }
        }
    }
    Ok(())
}
