//! The model: the ONNX format, the model-file contract and its checks, and the runtime that
//! runs a generator (native ONNX Runtime or tract). Loading and running happen on the
//! worker thread (plugin) or the main thread (CLI), never on the audio thread.

pub mod model_file;
pub mod model_info;
pub mod onnx;
pub mod runtime;
pub mod session_run;
pub mod validation;
