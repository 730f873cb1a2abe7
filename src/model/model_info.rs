//! What a model file's metadata says ([`ModelInfo`]): its shape, meters, knobs and latent
//! directions, read and checked against this build's encoding. Any thread but the audio thread.

use std::collections::BTreeMap;

use crate::encoding::{Meter, StepLayout, MAX_BAR_STEPS, STEPS_PER_BAR};
use crate::model::model_file::{meta, ModelError};
use crate::music::attributes::Attribute;

/// What a model's metadata says, checked against this build's encoding.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelInfo {
    /// Length of the latent vector: the point drawn from the prior, moved by the knobs,
    /// rated and stored.
    pub latent_size: usize,
    /// Length of the detail code that follows the latent point in the decoder's input and the
    /// encoder's output (0 for most models): zero in a draw from the prior, an encoded clip's
    /// own code to bring its notes back.
    pub detail_size: usize,
    /// Bars of the windows the model learned on (the decoder's bar input counts modulo them).
    pub bars: usize,
    /// Model family (`vae`).
    pub kind: String,
    /// Stacked GRU layers of the decoder.
    pub layers: usize,
    /// State size of each GRU layer.
    pub hidden: usize,
    /// Sampling temperature the model was tuned for.
    pub temperature: f32,
    /// Main directions of variation of the latent space with their standard deviations
    /// (from [`meta::LATENT_DIRECTIONS`]; empty when the model has none).
    pub directions: Vec<(f32, Vec<f32>)>,
    /// The encoding version the model was trained with (2 or 3).
    pub encoding_version: u32,
    /// The meters it knows (4/4 only for version 2).
    pub meters: Vec<Meter>,
    /// Latent dimensions tied to attributes: `(attribute, dimension, scale)`.
    pub knob_attributes: Vec<(Attribute, usize, f32)>,
    /// All metadata, for display.
    pub metadata: BTreeMap<String, String>,
}

impl ModelInfo {
    /// Steps of one window in 4/4.
    pub fn steps(&self) -> usize {
        self.bars * STEPS_PER_BAR
    }

    /// How the decoder's step input is laid out.
    pub fn layout(&self) -> StepLayout {
        StepLayout { version: self.encoding_version, bars: self.bars }
    }

    /// Width of the decoder's step input.
    pub fn step_input(&self) -> usize {
        self.layout().features() + self.decoder_latent()
    }

    /// Width of what the decoder reads after the step features: the latent point, then the
    /// detail code.
    pub fn decoder_latent(&self) -> usize {
        self.latent_size + self.detail_size
    }

    /// Steps of the encoder's input window.
    pub fn encoder_steps(&self) -> usize {
        encoder_steps(self.encoding_version, self.bars)
    }

    /// Whether the model can play `meter`; the error names the meters it knows.
    pub fn check_meter(&self, meter: Meter) -> Result<(), ModelError> {
        if self.meters.contains(&meter) {
            return Ok(());
        }
        let known = self.meters.iter().map(Meter::to_string).collect::<Vec<_>>().join(", ");
        let why = if self.encoding_version == 2 {
            " (a model trained before meters were learned: retrain it with this neume-train)"
        } else {
            ""
        };
        Err(ModelError::Input(format!("this model knows {known} only{why}; {meter} is not one")))
    }

    /// The names of `count` knobs, in the order of [`ModelInfo::knob_directions`]: the
    /// attributes the model ties to its first directions (`Density` …), then `Latent i`.
    pub fn knob_names(&self, count: usize) -> Vec<String> {
        (0..count)
            .map(|i| match self.knob_attributes.get(i) {
                Some((attribute, ..)) => attribute.name().to_string(),
                None => format!("Latent {}", i + 1),
            })
            .collect()
    }

    /// The knob of a name (`density`, `Latent 6`, `latent6`), as an index into
    /// [`ModelInfo::knob_names`]; the error lists the model's knobs.
    pub fn knob_index(&self, name: &str, count: usize) -> Result<usize, String> {
        let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        let names = self.knob_names(count);
        names.iter().position(|n| squash(n).eq_ignore_ascii_case(&squash(name))).ok_or_else(|| {
            format!("this model has no knob `{name}`; its knobs are {}", names.join(", "))
        })
    }

    /// The latent move of knob values (standard deviations along each knob's direction):
    /// what is added to every phrase's point.
    pub fn knob_shift(&self, knobs: &[f32]) -> Vec<f32> {
        let mut shift = vec![0.0; self.latent_size];
        for (knob, (scale, direction)) in knobs.iter().zip(self.knob_directions(knobs.len())) {
            shift.iter_mut().zip(&direction).for_each(|(v, d)| *v += knob * scale * d);
        }
        shift
    }

    /// The latent dimension and scale of a named knob, if the model ties one to `attribute`.
    pub fn knob_attribute(&self, attribute: Attribute) -> Option<(usize, f32)> {
        self.knob_attributes.iter().find(|(a, ..)| *a == attribute).map(|&(_, d, s)| (d, s))
    }

    /// `count` directions for latent knobs, each with the standard deviation one knob unit
    /// stands for: the model's measured directions first, then latent axes (scale 1).
    pub fn knob_directions(&self, count: usize) -> Vec<(f32, Vec<f32>)> {
        let mut out: Vec<(f32, Vec<f32>)> = self.directions.iter().take(count).cloned().collect();
        for axis in (0..self.latent_size).take(count.saturating_sub(out.len())) {
            let mut unit = vec![0.0; self.latent_size];
            unit[axis] = 1.0;
            out.push((1.0, unit));
        }
        out
    }

    /// Where the model comes from, in one line: its training collections and their licence
    /// (empty when the metadata does not say).
    pub fn provenance(&self) -> String {
        let data = self.metadata.get(meta::TRAINING_DATA);
        let licence = self.metadata.get(meta::DATA_LICENCE);
        match (data, licence) {
            (Some(d), Some(l)) => format!("{d} ({l})"),
            (Some(d), None) => d.clone(),
            (None, Some(l)) => format!("data licence: {l}"),
            (None, None) => String::new(),
        }
    }

    /// The id shared by a model's decoder and encoder files ([`meta::MODEL_ID`]), if any.
    pub fn model_id(&self) -> Option<&str> {
        self.metadata.get(meta::MODEL_ID).map(String::as_str)
    }

    /// What the ratings file keys this model's lines by: `id:` and its id, or for a model
    /// without one `name` (`default`, or its path): points only mean something in their
    /// model's latent space.
    pub fn ratings_key(&self, name: &str) -> String {
        self.model_id().map_or_else(|| name.to_string(), |id| format!("id:{id}"))
    }
}

/// Parses the optional latent directions of a model's metadata.
pub(crate) fn parse_directions(
    md: &BTreeMap<String, String>,
    latent_size: usize,
) -> Result<Vec<(f32, Vec<f32>)>, String> {
    let (Some(dirs), Some(scales)) = (md.get(meta::LATENT_DIRECTIONS), md.get(meta::LATENT_SCALES))
    else {
        return Ok(Vec::new());
    };
    let floats = |text: &str| -> Result<Vec<f32>, String> {
        text.split(',')
            .map(|v| {
                v.trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| format!("`{v}` is not a finite number"))
            })
            .collect()
    };
    let scales = floats(scales).map_err(|e| format!("metadata `{}`: {e}", meta::LATENT_SCALES))?;
    let vectors: Vec<Vec<f32>> = dirs
        .split(';')
        .map(floats)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("metadata `{}`: {e}", meta::LATENT_DIRECTIONS))?;
    if vectors.len() != scales.len() || vectors.len() > latent_size {
        return Err(format!(
            "{} latent directions and {} scales for a latent size of {latent_size}",
            vectors.len(),
            scales.len()
        ));
    }
    if let Some(v) = vectors.iter().find(|v| v.len() != latent_size) {
        return Err(format!(
            "a latent direction has {} values, the latent size is {latent_size}",
            v.len()
        ));
    }
    Ok(scales.into_iter().zip(vectors).collect())
}

/// Steps of an encoder's input window in encoding `version`.
pub(crate) fn encoder_steps(version: u32, bars: usize) -> usize {
    bars * if version == 2 { STEPS_PER_BAR } else { MAX_BAR_STEPS }
}

/// Parses `4/4=100,6/8=20` (counts optional).
pub(crate) fn parse_meters(text: &str) -> Result<Vec<Meter>, String> {
    let mut out = Vec::new();
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let signature = part.split('=').next().unwrap_or(part);
        let meter =
            Meter::parse(signature).map_err(|e| format!("metadata `{}`: {e}", meta::METERS))?;
        if !out.contains(&meter) {
            out.push(meter);
        }
    }
    if out.is_empty() {
        return Err(format!("metadata `{}` names no meter", meta::METERS));
    }
    Ok(out)
}

/// Parses `Density=0:0.93,Contour=3:1.1`: attribute, latent dimension, scale.
pub(crate) fn parse_knob_attributes(
    text: &str,
    latent_size: usize,
) -> Result<Vec<(Attribute, usize, f32)>, String> {
    let bad =
        |part: &str, why: &str| format!("metadata `{}`: `{part}` {why}", meta::KNOB_ATTRIBUTES);
    let mut out: Vec<(Attribute, usize, f32)> = Vec::new();
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (name, rest) =
            part.split_once('=').ok_or_else(|| bad(part, "is not name=dim:scale"))?;
        let attribute =
            Attribute::from_name(name).ok_or_else(|| bad(part, "names no attribute"))?;
        let (dim, scale) = rest.split_once(':').unwrap_or((rest, "1"));
        let dim: usize = dim.trim().parse().map_err(|_| bad(part, "has no dimension number"))?;
        let scale: f32 = scale.trim().parse().map_err(|_| bad(part, "has no scale"))?;
        if dim >= latent_size || !(scale.is_finite() && scale > 0.0) {
            return Err(bad(
                part,
                "is outside the latent space or has a scale that is not positive",
            ));
        }
        if out.iter().any(|(a, d, _)| *a == attribute || *d == dim) {
            return Err(bad(part, "repeats an attribute or a dimension"));
        }
        out.push((attribute, dim, scale));
    }
    Ok(out)
}
