//! Neume's trainer: MIDI folders in, ONNX melody generators out.
//!
//! Split the way burn's examples are: [`data`], [`model`], [`training`] (the loop, the GAN's
//! discriminator and estimator in [`training::adversarial`], and the steps after it:
//! [`training::directions`], [`training::normal_scores`], fine-tuning in [`training::tune`]),
//! [`export`] and its inverse [`import`], [`eval`] (metrics, classifier, Markov baselines,
//! form, knobs, reconstruction) and [`bench`] (the training step, clips, key finders,
//! listeners).
//! `main.rs` is the thin command line (`cli.rs`: its arguments), and the backend is chosen
//! there, once, through [`device`].

pub mod bench;
pub mod data;
pub mod device;
pub mod eval;
pub mod export;
pub mod import;
pub mod model;
pub mod training;
