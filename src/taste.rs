//! The listener's taste: the Like and Dislike ratings file ([`ratings`]), the preference
//! model learned from it and the latent draws it leans toward ([`preference`],
//! [`gp_classifier`], [`linalg`]). Not to be confused with the key listener, which hears the
//! MIDI input (`plugin::audio::key_listener`). Worker or GUI thread, never the audio thread.

pub mod gp_classifier;
pub mod linalg;
pub mod preference;
pub mod ratings;
