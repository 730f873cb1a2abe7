//! `cargo build --release -p neume --lib && cargo bench -p neume --bench plugin`:
//! the plugin's real-time figures, on the release plugin binary loaded by a CLAP host.
//!
//! - `process()` per 512-frame block while playing 16th notes (the whole CLAP call, host
//!   side included), and the sequencer alone;
//! - knob change → new melody available to the audio thread (the real worker thread, woken
//!   by the parameter callback, until the melody pops out of the ring), beside a bare model
//!   run and a bare 4-bar generation on the same backend;
//! - instantiate + activate (after the first instance, which loads the runtime);
//! - the editor's Vary (eight variations of a 2-bar clip, sung as the editor sings them) and
//!   a continuation of that clip to 8 bars;
//! - resident memory of 1 and of 16 active instances (each playing its first melody), over
//!   the process before any instance.
//!
//! Pin it to one core for the one-core figure: `taskset -c 0 cargo bench ...`.

#[path = "../tests/support/host.rs"]
mod host;
#[path = "support/stats.rs"]
mod stats;

use std::sync::Arc;
use std::time::Instant;

use host::{Host, NoteLedger, Transport};
use neume::encoding::{Melody, Note};
use neume::plugin::audio::sequencer::{Sequencer, TransportInfo};
use neume::plugin::audio::settings::PlaySettings;
use neume::plugin::cross::handoff::PlayMelody;
use neume::plugin::cross::handoff::{self, MelodyReceiver};
use neume::plugin::cross::shared::WorkerLink;
use neume::plugin::worker::params::NeumeParams;
use neume::plugin::worker::request::Request;
use neume::plugin::worker::state::SavedMelody;
use neume::plugin::worker::worker_thread::WorkerHandle;
use neume::sampling::generate::{generate, GenerateOptions};
use nice_plug::params::InternalParamMut;
use stats::{report, time_runs};

/// A 4-bar melody of 64 16th notes.
fn sixteenths() -> Melody {
    let notes =
        (0..64).map(|i| Note { pitch: 60 + (i % 12) as u8, start_step: i, len_steps: 1 }).collect();
    Melody { notes, len_steps: 64 }
}

/// The process's resident memory, in MiB (Linux; 0 elsewhere).
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok());
    kib.unwrap_or(0.0) / 1024.0
}

fn main() {
    let blocks = 20_000;

    // Memory first, before anything else is loaded: instances as a producer's project has
    // them, each activated (its worker has made its first melody) and playing a block.
    let before = rss_mib();
    let mut instances = Vec::new();
    for n in 1..=16 {
        let mut p = Host::load();
        p.activate(48_000.0, 512);
        p.process(512, &Transport::playing_at(0.0, 120.0), &[]);
        instances.push(p);
        if n == 1 || n == 16 {
            println!(
                "{:<44} {:>8.1} MiB",
                format!("resident memory, {n} instance{}", if n == 1 { "" } else { "s" }),
                rss_mib() - before
            );
        }
    }
    drop(instances);

    // The sequencer alone (library code, release).
    let mut seq = Sequencer::default();
    seq.set_pending(PlayMelody::from_melody(&sixteenths(), neume::encoding::Meter::FourFour, 1));
    let settings = PlaySettings::default();
    let mut events = 0usize;
    let times: Vec<f64> = (0..blocks)
        .map(|b| {
            let t = TransportInfo {
                playing: true,
                tempo_bpm: Some(120.0),
                pos_beats: Some(b as f64 * 512.0 / 24_000.0),
                pos_samples: Some(b as i64 * 512),
                loop_beats: None,
                bar: None,
            };
            let start = Instant::now();
            seq.process(512, 48_000.0, &t, &settings, &mut |e| {
                std::hint::black_box(e);
                events += 1;
            });
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    report("sequencer, 512 frames, 16ths", "µs", times);
    assert!(events > blocks / 10);

    // The plugin through a CLAP host, playing 16ths from a saved state.
    let shared = Arc::new(WorkerLink::default());
    let params = NeumeParams::new(shared.wake.clone());
    let key = Request::read(&params).identity();
    let melody = sixteenths();
    let saved = SavedMelody::new(key, &melody, neume::encoding::Meter::FourFour, Vec::new());
    let mut plugin = Host::load();
    let mut state = plugin.state_json();
    state["fields"]["melody"] =
        serde_json::Value::String(serde_json::to_string(&Some(saved)).unwrap());
    plugin.load_state_json(&state);
    plugin.activate(48_000.0, 512);
    let mut ledger = NoteLedger::default();
    let times: Vec<f64> = (0..blocks)
        .map(|b| {
            let t = Transport::playing_at(b as f64 * 512.0 / 24_000.0, 120.0);
            let start = Instant::now();
            let notes = plugin.process(512, &t, &[]);
            let micros = start.elapsed().as_secs_f64() * 1e6;
            ledger.add(512, &notes);
            micros
        })
        .collect();
    assert!(ledger.ons > blocks / 20, "the plugin played 16ths ({} notes)", ledger.ons);
    report("plugin process(), 512 frames, 16ths", "µs", times);
    // The same with the Preview voice rendering every sample.
    let preview = plugin.param_id("Preview");
    let times: Vec<f64> = (0..blocks)
        .map(|b| {
            let t = Transport::playing_at(b as f64 * 512.0 / 24_000.0, 120.0);
            let params: &[_] = if b == 0 { &[(preview, 1.0)] } else { &[] };
            let start = Instant::now();
            plugin.process(512, &t, params);
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    assert!(plugin.audio_output()[0].iter().any(|&s| s != 0.0), "the Preview voice sounds");
    report("plugin process(), 512 frames, 16ths, Preview on", "µs", times);
    drop(plugin);

    // Instantiate + activate; the first instance loaded the runtime above.
    // Each instance is dropped (its worker joined) outside the timed part.
    let mut times = Vec::new();
    for _ in 0..30 {
        let start = Instant::now();
        let mut p = Host::load();
        p.activate(48_000.0, 512);
        times.push(start.elapsed().as_secs_f64() * 1e3);
        drop(p);
    }
    eprintln!(
        "instantiate + activate, each run (ms): {:?}",
        times.iter().map(|t| t.round()).collect::<Vec<_>>()
    );
    report("instantiate + activate (first melody ready)", "ms", times);

    // Knob change → melody in the ring, with the real worker thread.
    let params = Arc::new(params);
    let (to_audio, mut from_worker) = handoff::channel();
    let worker = WorkerHandle::spawn(
        params.clone(),
        shared.clone(),
        to_audio,
        handoff::channel_of(neume::plugin::audio::capture::CapturedClip::NONE).1,
        neume::model::runtime::executable_dirs(),
    )
    .expect("worker starts");
    let wait = |from_worker: &mut MelodyReceiver| loop {
        if from_worker.latest().is_some() {
            return;
        }
        // Yield rather than sleep: a sleep's timer slack (~50 µs) would dominate the figure.
        std::thread::yield_now();
    };
    let _ = shared.wake.wake();
    wait(&mut from_worker);
    println!("worker backend: {}", shared.status.lock().backend);
    let runs = 2000;
    let times = time_runs(runs, 1e3, |i| {
        let value = -2.0 + 4.0 * (i as f32 / runs as f32);
        // SAFETY: what the host wrapper does for an automation event; no other thread
        // writes this parameter here.
        unsafe { params.z1._internal_set_plain_value(value) };
        wait(&mut from_worker);
    });
    report("knob change -> melody in the ring", "ms", times);
    drop(worker);

    let mut generator = neume::default_generator().expect("default model");
    let x = vec![0.0f32; generator.info().step_input()];
    let mut state = generator.start();
    report(
        "bare decoder step",
        "ms",
        time_runs(runs, 1e3, |_| {
            std::hint::black_box(generator.step(&x, &mut state).expect("runs"));
        }),
    );
    // A producer's 2-bar clip in 4/4: Vary sings 8 variations at Amount 0.5 (as the editor's
    // button does), Continue one 8-bar continuation.
    let hook = Melody {
        notes: [
            (62, 0, 4),
            (65, 4, 2),
            (64, 6, 2),
            (62, 8, 4),
            (69, 12, 4),
            (67, 16, 6),
            (65, 22, 2),
            (64, 24, 8),
        ]
        .map(|(pitch, start_step, len_steps)| Note { pitch, start_step, len_steps })
        .to_vec(),
        len_steps: 32,
    };
    let params = NeumeParams::new(Arc::default());
    let clip_request = |source: usize, bars: usize| Request {
        source_index: source,
        bars,
        clip: Some(SavedMelody::new(0, &hook, neume::encoding::Meter::FourFour, Vec::new())),
        ..Request::read(&params)
    };
    let vary = clip_request(1, 4);
    report(
        "Vary: 8 variations of a 2-bar clip",
        "ms",
        time_runs(runs / 8, 1e3, |seed| {
            for k in 0..8 {
                let r = Request { seed: seed * 8 + k, ..vary.clone() };
                std::hint::black_box(r.sing(&mut generator).expect("varies"));
            }
        }),
    );
    let cont = clip_request(2, 8);
    report(
        "Continue: a 2-bar clip to 8 bars",
        "ms",
        time_runs(runs / 8, 1e3, |seed| {
            let r = Request { seed, ..cont.clone() };
            std::hint::black_box(r.sing(&mut generator).expect("continues"));
        }),
    );
    report(
        "bare 4-bar generation (64 steps + sampling)",
        "ms",
        time_runs(runs, 1e3, |seed| {
            std::hint::black_box(
                generate(&mut generator, &GenerateOptions { seed, ..Default::default() })
                    .expect("generates"),
            );
        }),
    );
    let chords =
        neume::music::chords::Progression::parse("Am F C G", neume::encoding::Meter::FourFour)
            .expect("a progression");
    // Infill: bars 9–10 of a 16-bar melody sung anew (8 candidates, the kept bars after
    // them scored), as `neume infill` does.
    let long =
        generate(&mut generator, &GenerateOptions { bars: 16, seed: 5, ..Default::default() })
            .expect("a 16-bar melody");
    report(
        "infill: 2 bars of a 16-bar melody",
        "ms",
        time_runs(runs / 8, 1e3, |seed| {
            let options = neume::music::clip::ClipOptions {
                seed,
                temperature: None,
                shift: None,
                chords: None,
            };
            std::hint::black_box(
                neume::music::clip::infill(
                    &mut generator,
                    &long,
                    neume::encoding::Meter::FourFour,
                    (9, 10),
                    &options,
                    neume::music::clip::INFILL_CANDIDATES,
                )
                .expect("infills"),
            );
        }),
    );
    report(
        "4-bar generation over chords (Am F C G)",
        "ms",
        time_runs(runs, 1e3, |seed| {
            let options =
                GenerateOptions { seed, chords: Some(chords.clone()), ..Default::default() };
            std::hint::black_box(generate(&mut generator, &options).expect("generates"));
        }),
    );
    // The copy guard: a 16-bar melody checked against the default model's index (what the
    // worker does after every melody it sings).
    let index = neume::default_copy_index().expect("the embedded copy index");
    let melodies: Vec<_> = (0..16u64)
        .map(|seed| {
            generate(&mut generator, &GenerateOptions { bars: 16, seed, ..Default::default() })
                .expect("a 16-bar melody")
        })
        .collect();
    report(
        "copy check of a 16-bar melody",
        "ms",
        time_runs(runs, 1e3, |seed| {
            let melody = &melodies[seed as usize % melodies.len()];
            std::hint::black_box(index.check(melody, neume::encoding::Meter::FourFour));
        }),
    );
}
