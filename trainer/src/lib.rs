//! Neume's trainer: MIDI folders in, ONNX melody generators out.
//!
//! Split the way burn's examples are: [`data`], [`model`], [`training`], [`export`], and the
//! evaluation ([`metrics`], [`markov`], [`eval`], [`form`], [`knobs`], [`reconstruction`]); `main.rs` is the thin command line, and the
//! backend is chosen there, once, through [`device`]; [`bench`] times the training step.

pub mod bench;
pub mod classifier;
pub mod clip_bench;
pub mod data;
pub mod device;
pub mod directions;
pub mod eval;
pub mod export;
pub mod form;
pub mod key_bench;
pub mod knobs;
pub mod listener_bench;
pub mod markov;
pub mod metrics;
pub mod model;
pub mod model_key;
pub mod normal_scores;
pub mod reconstruction;
pub mod training;
pub mod tune;
