//! The plugin's worker thread with the real model: a bad model file is reported with its name
//! and the last good model keeps playing; a good one replaces it; knob changes reach the
//! audio side through the ring.

use std::sync::Arc;
use std::time::{Duration, Instant};

use neume::plugin::cross::handoff::PlayMelody;
use neume::plugin::cross::handoff::{self, MelodyReceiver};
use neume::plugin::cross::shared::{Command, WorkerLink};
use neume::plugin::worker::params::NeumeParams;
use neume::plugin::worker::request::Request;
use neume::plugin::worker::worker_thread::WorkerHandle;
use nice_plug::params::InternalParamMut;

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(30), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The newest melody handed over since the last call.
fn newest(ring: &mut MelodyReceiver) -> Option<PlayMelody> {
    ring.latest()
}

/// A worker on fresh parameters, after its first melody.
fn start_worker() -> (Arc<WorkerLink>, Arc<NeumeParams>, MelodyReceiver, WorkerHandle) {
    let shared = Arc::new(WorkerLink::default());
    let params = Arc::new(NeumeParams::new(shared.wake.clone()));
    let (to_audio, ring) = handoff::channel();
    let worker = WorkerHandle::spawn(
        params.clone(),
        shared.clone(),
        to_audio,
        handoff::channel_of(neume::plugin::audio::capture::CapturedClip::NONE).1,
        neume::model::runtime::executable_dirs(),
    )
    .unwrap();
    let request = shared.wake.wake();
    assert!(shared.wait_handled(request, Duration::from_secs(30), || {}));
    (shared, params, ring, worker)
}

#[test]
fn bad_models_are_reported_and_good_ones_replace_the_current_one() {
    let (shared, params, mut ring, _worker) = start_worker();
    let first = newest(&mut ring).expect("a first melody");
    assert!(first.count > 0);
    assert_eq!(shared.status.lock().model_name, "default model (models/neume-default.onnx)");

    // A file that is not a model: named in the error, nothing changes.
    let dir = std::env::temp_dir().join(format!("neume-worker-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("not-a-model.onnx");
    std::fs::write(&bad, b"this is not protobuf").unwrap();
    shared.send(Command::LoadModel(bad.clone()));
    // Wait until the worker has handled the command and anything it could have regenerated
    // (it publishes before it marks a wake-up handled), then look.
    assert!(shared.wait_handled(shared.wake.last(), Duration::from_secs(30), || {}));
    let error = shared.status.lock().model_error.clone().unwrap();
    assert!(error.contains("not-a-model.onnx"), "{error}");
    assert!(params.model_path.read().is_none());
    assert!(newest(&mut ring).is_none(), "a bad model must not change the melody");

    // A knob turn still generates with the default model.
    // SAFETY: what the host wrapper does for an automation event; no other writer here.
    unsafe { params.z1._internal_set_plain_value(1.5) };
    let mut turned = None;
    wait_for("a melody after the knob turn", || {
        turned = newest(&mut ring);
        turned.is_some()
    });
    let turned = turned.unwrap();
    assert_ne!(turned.key, first.key);

    // A good model (a small one trained on the fixtures), with its encoder beside it: it
    // loads, becomes part of the state, and plays.
    let gan = dir.join("small.onnx");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/models/small.onnx"), &gan)
        .unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/models/small.encoder.onnx"),
        dir.join("small.encoder.onnx"),
    )
    .unwrap();
    shared.send(Command::LoadModel(gan.clone()));
    let mut from_gan = None;
    wait_for("the small model's melody", || {
        from_gan = newest(&mut ring);
        from_gan.is_some()
    });
    let from_gan = from_gan.unwrap();
    assert_ne!(from_gan.key, turned.key);
    assert_eq!(params.model_path.read().as_deref(), Some(gan.display().to_string().as_str()));
    assert!(shared.status.lock().model_error.is_none());
    assert_eq!(shared.status.lock().model_name, gan.display().to_string());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_editor_action_makes_one_melody_from_its_whole_request() {
    let (shared, params, mut ring, _worker) = start_worker();
    let first = newest(&mut ring).expect("a first melody");
    let latent = params.melody.read().as_ref().unwrap().latent.len();

    // What the editor's Generate does: one request (new seed, new base point), then the stored
    // base point at once and the seed through the host, which applies it later.
    let action =
        Request { seed: 4242, base_point: Some(vec![0.5; latent]), ..Request::read(&params) };
    shared.act(action.clone());
    *params.base_point.write() = action.base_point.clone();
    shared.wake.wake();
    wait_for("the action's melody", || {
        params.melody.read().as_ref().is_some_and(|m| m.key != first.key)
    });
    std::thread::sleep(Duration::from_millis(100));
    // Never a melody of the new base point with the old seed.
    let mixed = Request::read(&params).identity();
    let stored = params.melody.read().as_ref().unwrap().key;
    assert_eq!(
        stored,
        action.identity(),
        "the worker made a melody from a mix of old and new values ({mixed:x})"
    );
    assert_eq!(shared.status.lock().made_from.as_ref(), Some(&action));

    // The host applies the seed: the parameters now give the action's request, and nothing is
    // generated again.
    let generations = shared.status.lock().generations;
    // SAFETY: what the host wrapper does for a parameter change; no other writer here.
    unsafe { params.seed._internal_set_plain_value(4242) };
    let request = shared.wake.wake();
    assert!(shared.wait_handled(request, Duration::from_secs(30), || {}));
    assert_eq!(Request::read(&params).identity(), action.identity());
    assert_eq!(shared.status.lock().generations, generations);
    assert!(shared.action.lock().is_none(), "the action ends once the parameters caught up");
}

/// In a song with a meter, an action taken from the history carries that meter (the worker
/// made it so); it still ends once the parameters caught up, which do not say the meter.
#[test]
fn an_action_in_a_meter_ends_once_the_parameters_caught_up() {
    let (shared, params, mut ring, _worker) = start_worker();
    shared.telemetry.host_signature.store(3 << 8 | 4, std::sync::atomic::Ordering::Relaxed);
    let request = shared.wake.wake();
    assert!(shared.wait_handled(request, Duration::from_secs(30), || {}));
    let _ = newest(&mut ring);
    let made = shared.status.lock().made_from.clone().expect("a melody in 3/4");
    assert_eq!(made.meter, Some(neume::encoding::Meter::ThreeFour));
    // Undo to it after a seed change: the editor acts with the history's request.
    let action = Request { seed: 777, ..made };
    shared.act(action.clone());
    // SAFETY: what the host wrapper does for a parameter change; no other writer here.
    unsafe { params.seed._internal_set_plain_value(777) };
    let request = shared.wake.wake();
    assert!(shared.wait_handled(request, Duration::from_secs(30), || {}));
    let request = shared.wake.wake();
    assert!(shared.wait_handled(request, Duration::from_secs(30), || {}));
    assert!(shared.action.lock().is_none(), "the action ends once the parameters caught up");
    let saved = params.melody.read().clone().unwrap();
    assert_eq!(saved.meter.as_deref(), Some("3/4"));
    assert_eq!(saved.key, action.identity());
}

#[test]
fn a_stored_point_sings_as_it_was_stored_with_range_and_leaps_moved() {
    // Store A/B zeroes the knobs once both points exist. Range and Leaps also steer the
    // sampler, so the point must bring its knob values with it: the melody of A, morph 0,
    // knobs 0, is the one the knobs made before the store, note for note.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/neume-default.onnx");
    let mut generator = neume::model::runtime::Generator::from_file(&path).unwrap();
    let latent = generator.info().latent_size;
    let params = NeumeParams::new(WorkerLink::default().wake.clone());
    let knobs = [1.0, 0.0, -2.0, 0.0, 1.5, 0.0, 0.0, 0.0];
    let before =
        Request { seed: 31, base_point: Some(vec![0.3; latent]), knobs, ..Request::read(&params) };
    let sung = before.sing(&mut generator).unwrap();
    let stored = Request {
        base_point: None,
        knobs: [0.0; 8],
        point_a: Some(sung.latent.clone()),
        held_a: Some(before.sung_knobs()),
        point_b: Some(vec![-0.5; latent]),
        held_b: Some([0.0; 8]),
        morph: 0.0,
        ..before.clone()
    };
    let again = stored.sing(&mut generator).unwrap();
    assert_eq!(again.melody, sung.melody, "the stored point sings what the knobs sang");
    // Without the knob values the steering is lost: a wider melody with fewer leaps kept.
    let bare = Request { held_a: None, ..stored }.sing(&mut generator).unwrap();
    assert_ne!(bare.melody, sung.melody);
}
