//! Benchmarks of the trainer and of what the plugin does with a model, each a `neume-train`
//! command: the training step alone ([`step`]), clips varied and continued ([`clips`]), melodies over chords ([`chords`]), bars sung anew in context ([`infill`]), the
//! key finders ([`key`], [`model_key`]) and simulated listeners ([`listener`]).

pub mod chords;
pub mod clips;
pub mod copies;
pub mod infill;
pub mod key;
pub mod listener;
pub mod model_key;
pub mod step;
