//! One loaded model per model file per process, shared by every Neume instance's worker: a
//! producer with 16 tracks of Neume pays for one ONNX session of each model, not 16.
//!
//! Workers only (never the audio thread): a worker locks the model for one generation, so
//! instances that generate at the same moment take turns (one generation is short: docs/hosts.md has its time).

use std::path::Path;
use std::sync::{Arc, Weak};
use std::time::SystemTime;

use parking_lot::Mutex;

use crate::model::runtime::{Generator, ModelError};

/// A loaded model, shared between instances.
pub type SharedGenerator = Arc<Mutex<Generator>>;

/// What identifies a loaded model: the embedded default, or a file as it was on disk (an
/// edited or replaced file is a new model).
#[derive(Clone, Debug, PartialEq, Eq)]
enum ModelKey {
    Default,
    File { path: std::path::PathBuf, len: u64, modified: Option<SystemTime> },
}

/// The models loaded in this process; an entry lives as long as an instance holds it.
static LOADED: Mutex<Vec<(ModelKey, Weak<Mutex<Generator>>)>> = Mutex::new(Vec::new());

/// The embedded default model, loaded once per process.
pub fn default_model() -> Result<SharedGenerator, ModelError> {
    shared(ModelKey::Default, crate::default_generator)
}

/// The model in `path` (and its encoder beside it), loaded once per process while the file
/// stays the same.
pub fn model_file(path: &Path) -> Result<SharedGenerator, ModelError> {
    let missing = |e: std::io::Error| ModelError::Invalid {
        path: path.display().to_string(),
        problem: e.to_string(),
    };
    let canonical = path.canonicalize().map_err(missing)?;
    let meta = std::fs::metadata(&canonical).map_err(missing)?;
    let key = ModelKey::File { path: canonical, len: meta.len(), modified: meta.modified().ok() };
    shared(key, || Generator::from_file(path))
}

fn shared(
    key: ModelKey,
    load: impl FnOnce() -> Result<Generator, ModelError>,
) -> Result<SharedGenerator, ModelError> {
    // Loading under the lock: a second instance asking for the same model waits for the
    // first load instead of loading it twice.
    let mut loaded = LOADED.lock();
    loaded.retain(|(_, model)| model.strong_count() > 0);
    if let Some(model) =
        loaded.iter().find(|(k, _)| *k == key).and_then(|(_, model)| model.upgrade())
    {
        return Ok(model);
    }
    let model = Arc::new(Mutex::new(load()?));
    loaded.push((key, Arc::downgrade(&model)));
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_share_one_model_until_the_last_lets_go() {
        let a = default_model().unwrap();
        let b = default_model().unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let fixture =
            Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/models/small.onnx"));
        let c = model_file(fixture).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert!(Arc::ptr_eq(&c, &model_file(fixture).unwrap()));
        let weak = Arc::downgrade(&c);
        drop(c);
        assert!(weak.upgrade().is_none(), "the model is unloaded when no instance holds it");
        assert!(model_file(Path::new("/nonexistent/model.onnx")).is_err());
    }
}
