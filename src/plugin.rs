//! The Neume plugin (CLAP and VST3, through nice-plug): a MIDI generator a producer drops
//! on a track. It plays the melody the model invents as notes locked to the host transport.
//!
//! Threads:
//! - main thread: [`Neume::activate`] starts the instance's worker and waits for the first
//!   melody, so playback (and offline rendering) never waits for it later;
//! - worker thread ([`worker_thread`]): model loading and generation;
//! - audio thread ([`audio_thread`]): [`Neume::process`] takes the newest melody from the ring
//!   and plays it. It never allocates, locks, logs or waits (`assert_process_allocs` checks
//!   the first in debug builds).

pub mod audio_thread;
pub mod editor;
pub mod location;
pub mod params;
pub mod worker_thread;

use std::num::NonZeroU32;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use nice_plug::midi::{Channel, Key, VoiceID};
use nice_plug::prelude::*;

use audio_thread::{NoteOut, PlayMelody, Sequencer, TransportInfo};
use params::NeumeParams;
use worker_thread::{Shared, WorkerHandle};

/// Melodies the ring to the audio thread holds; the audio thread keeps only the newest.
const RING_CAPACITY: usize = 4;

/// How long `activate` waits for the first melody before playing silence until it comes.
const FIRST_MELODY_TIMEOUT: Duration = Duration::from_secs(10);

/// One plugin instance.
pub struct Neume {
    params: Arc<NeumeParams>,
    /// Shared with the worker and the editor.
    shared: Arc<Shared>,
    /// Playback state; audio thread only.
    sequencer: Sequencer,
    /// Melodies from the worker; audio thread (and `activate`, while the audio thread is idle).
    from_worker: rtrb::Consumer<PlayMelody>,
    /// The ring's other end, until the worker starts and takes it.
    to_audio: Option<rtrb::Producer<PlayMelody>>,
    /// The worker, from the first activation on.
    worker: Option<WorkerHandle>,
    sample_rate: f64,
}

impl Default for Neume {
    fn default() -> Self {
        let shared = Arc::new(Shared::default());
        let (to_audio, from_worker) = rtrb::RingBuffer::new(RING_CAPACITY);
        Neume {
            params: Arc::new(NeumeParams::new(shared.wake.clone())),
            shared,
            sequencer: Sequencer::default(),
            from_worker,
            to_audio: Some(to_audio),
            worker: None,
            sample_rate: 48_000.0,
        }
    }
}

impl Neume {
    /// Takes every melody waiting in the ring; the newest is queued for playback.
    fn take_melodies(&mut self) {
        while let Ok(melody) = self.from_worker.pop() {
            self.sequencer.set_pending(melody);
        }
    }
}

impl Plugin for Neume {
    const NAME: &'static str = "Neume";
    const VENDOR: &'static str = "Neume";
    const URL: &'static str = "https://github.com/neume-audio/neume";
    const EMAIL: &'static str = "neume@example.com";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    // A stereo bus that passes audio through untouched: some hosts refuse MIDI-only plugins.
    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] =
        &[AudioIOLayout { main_input_channels: NonZeroU32::new(2), main_output_channels: NonZeroU32::new(2), ..AudioIOLayout::const_default() }];
    // Input is accepted now and used later for key following.
    const MIDI_INPUT: MidiConfig = MidiConfig::Basic;
    const MIDI_OUTPUT: MidiConfig = MidiConfig::Basic;

    type Editor = nice_plug_egui::EguiEditor<editor::NeumeEditor>;
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        editor::create(self.params.clone(), self.shared.clone())
    }

    fn activate(&mut self, _layout: &AudioIOLayout, buffer_config: &BufferConfig, _context: &mut impl ActivateContext<Self>) -> bool {
        self.sample_rate = f64::from(buffer_config.sample_rate);
        if self.worker.is_none() {
            let Some(to_audio) = self.to_audio.take() else { return false };
            match WorkerHandle::spawn(self.params.clone(), self.shared.clone(), to_audio, location::library_dirs()) {
                Ok(worker) => self.worker = Some(worker),
                Err(e) => {
                    nice_error!("Neume: cannot start the worker thread: {e}");
                    return false;
                }
            }
        }
        // The audio thread is idle during activation: take melodies here so the first block
        // already has one (offline renders then match real-time playback).
        let shared = self.shared.clone();
        let request = shared.wake.wake();
        shared.wait_handled(request, FIRST_MELODY_TIMEOUT, || self.take_melodies());
        self.take_melodies();
        true
    }

    fn reset(&mut self) {
        self.sequencer.reset();
    }

    fn process(&mut self, buffer: &mut Buffer, _aux: &mut AuxiliaryBuffers, context: &mut impl ProcessContext<Self>) -> ProcessStatus {
        // Audio passes through (the buffers are in place), with subnormal samples flushed to
        // zero: they would put the next plugin on the CPU's slow path.
        for channel in buffer.as_slice() {
            for sample in channel.iter_mut() {
                if sample.is_subnormal() {
                    *sample = 0.0;
                }
            }
        }
        let frames = buffer.samples() as u32;
        self.take_melodies();
        if self.from_worker.is_abandoned() {
            self.shared.worker_alive.store(false, Ordering::Relaxed);
        }
        let t = context.transport();
        if let Some(tempo) = t.tempo {
            self.shared.tempo_bpm.store(tempo as f32, Ordering::Relaxed);
        }
        // The sample position only as the host gave it (VST3: samples, CLAP: seconds), never
        // derived from beats, which hosts round.
        let pos_samples = t.pos_samples.or_else(|| t.pos_seconds.filter(|s| s.is_finite()).map(|s| (s * self.sample_rate).round() as i64));
        let transport = TransportInfo { playing: t.playing, tempo_bpm: t.tempo, pos_beats: t.pos_beats(), pos_samples, loop_beats: t.loop_range_beats() };
        let settings = self.params.play_settings();
        let mut dropped = 0u64;
        self.sequencer.process(frames, self.sample_rate, &transport, &settings, &mut |event| {
            let sent = match event {
                NoteOut::On { offset_samples, pitch, velocity } => context.try_send_event(NoteEvent::NoteOn {
                    timing: offset_samples,
                    voice_id: VoiceID::Wildcard,
                    channel: Channel::Number(0),
                    key: Key::Number(pitch),
                    velocity: f32::from(velocity) / 127.0,
                }),
                NoteOut::Off { offset_samples, pitch } => context.try_send_event(NoteEvent::NoteOff {
                    timing: offset_samples,
                    voice_id: VoiceID::Wildcard,
                    channel: Channel::Number(0),
                    key: Key::Number(pitch),
                    velocity: 0.0,
                }),
            };
            if sent.is_err() {
                dropped += 1;
            }
        });
        if dropped > 0 {
            self.shared.dropped_events.fetch_add(dropped, Ordering::Relaxed);
        }
        self.shared.position_steps.store(self.sequencer.position_steps() as f32, Ordering::Relaxed);
        // A generator runs whether or not audio comes in.
        ProcessStatus::KeepAlive
    }
}

impl ClapPlugin for Neume {
    const CLAP_ID: &'static str = "audio.neume.melody-generator";
    const CLAP_DESCRIPTION: Option<&'static str> = Some("Melodies invented by a neural network, played as MIDI");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[ClapFeature::NoteEffect, ClapFeature::Utility];
}

impl Vst3Plugin for Neume {
    const VST3_CLASS_ID: [u8; 16] = *b"NeumeMelodyGen01";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] = &[Vst3SubCategory::Instrument, Vst3SubCategory::Generator];
}

nice_export_clap!(Neume);
nice_export_vst3!(Neume);
