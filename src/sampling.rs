//! From a model's logits to a melody: seeded sampling, the grammar and scale masks, the song
//! form's phrase plans ([`generate`]) and the Range and Leaps knobs' steering of the sampler
//! ([`steering`]). Worker thread (plugin) or main thread (CLI).

pub mod generate;
pub mod steering;
