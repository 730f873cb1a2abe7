//! The test oracle for what the plugin plays: the default model's melody for a seed and key
//! (4 bars, the plugin's other parameters at their defaults), computed through the library,
//! never through the plugin. Shared by the plugin tests (`#[path]`-included).

#![allow(dead_code)]

use neume::encoding::{Melody, Meter};
use neume::music::theory::Scale;
use neume::sampling::generate::{generate, GenerateOptions};

/// The melody the plugin plays with its parameters at their defaults but `seed` and `key_root`.
pub fn model_melody(seed: u64, key_root: u8) -> Melody {
    model_melody_of(seed, key_root, 4)
}

/// The same, `bars` long.
pub fn model_melody_of(seed: u64, key_root: u8, bars: usize) -> Melody {
    model_melody_in(seed, key_root, bars, Meter::FourFour)
}

/// The same, in `meter`.
pub fn model_melody_in(seed: u64, key_root: u8, bars: usize, meter: Meter) -> Melody {
    let mut generator = neume::default_generator().expect("the default model loads");
    let options = GenerateOptions {
        bars,
        seed,
        key_root,
        scale: Some(Scale::Chromatic),
        meter,
        ..Default::default()
    };
    generate(&mut generator, &options).expect("the default model runs")
}

/// The melody the plugin plays for `seed` in `key_root` with key lock `scale` (4 bars, 4/4).
pub fn model_melody_keyed(seed: u64, key_root: u8, scale: Scale) -> Melody {
    let mut generator = neume::default_generator().expect("the default model loads");
    let options =
        GenerateOptions { bars: 4, seed, key_root, scale: Some(scale), ..Default::default() };
    generate(&mut generator, &options).expect("the default model runs")
}

/// The melody of the plugin's default parameters (seed 1, C).
pub fn default_melody() -> Melody {
    model_melody(1, 0)
}
