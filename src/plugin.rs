//! The Neume plugin (CLAP and VST3, through nice-plug): a MIDI generator a producer drops
//! on a track. It plays the melody the model invents as notes locked to the host transport.
//!
//! Threads:
//! - main thread: [`Neume::activate`] starts the instance's worker and waits for the first
//!   melody, so playback never waits for it later;
//! - worker thread ([`worker_thread`]): model loading and generation;
//! - audio thread ([`audio_thread`]): [`Neume::process`] takes the newest melody from the
//!   hand-off ([`handoff`]), plays it, and passes incoming MIDI through. In real time it never
//!   allocates, locks, logs or waits (`assert_process_allocs` checks the first in debug
//!   builds); in an offline render (the host says so) it waits, bounded, for the melody of a
//!   parameter change, so a bounce swaps melodies where playback does.

pub mod audio_thread;
pub mod editor;
pub mod handoff;
pub mod location;
pub mod midi_out;
pub mod models;
pub mod params;
pub mod request;
pub mod shared;
pub mod wake;
pub mod worker_thread;

use std::num::NonZeroU32;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use nice_plug::midi::{Channel, Key, VoiceID};
use nice_plug::prelude::*;

use audio_thread::{NoteOut, Sequencer, TransportInfo};
use midi_out::OwedOffs;
use params::NeumeParams;
use handoff::{MelodyReceiver, MelodySender};
use shared::Shared;
use worker_thread::WorkerHandle;

/// How long `activate` waits for the first melody before playing silence until it comes.
const FIRST_MELODY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a block of an offline render waits for the melody of a parameter change (it has
/// no real time to keep; real-time playback has the melody about 2 ms after the change).
const OFFLINE_MELODY_TIMEOUT: Duration = Duration::from_secs(2);

/// One plugin instance.
pub struct Neume {
    params: Arc<NeumeParams>,
    /// Shared with the worker and the editor.
    shared: Arc<Shared>,
    /// Playback state; audio thread only.
    sequencer: Sequencer,
    /// Melodies from the worker; audio thread (and `activate`, while the audio thread is idle).
    from_worker: MelodyReceiver,
    /// The ring's other end, until the worker starts and takes it.
    to_audio: Option<MelodySender>,
    /// The worker, from the first activation on.
    worker: Option<WorkerHandle>,
    /// The host renders offline (a bounce, faster than real time): set at activation.
    offline: bool,
    /// Note-offs the host refused; audio thread.
    owed_offs: OwedOffs,
    /// The melody note whose note-on the host refused: its note-off is not sent; audio thread.
    unsent_on: Option<u8>,
    sample_rate: f64,
}

impl Default for Neume {
    fn default() -> Self {
        let shared = Arc::new(Shared::default());
        let (to_audio, from_worker) = handoff::channel();
        Neume {
            params: Arc::new(NeumeParams::new(shared.wake.clone())),
            shared,
            sequencer: Sequencer::default(),
            from_worker,
            to_audio: Some(to_audio),
            worker: None,
            offline: false,
            owed_offs: OwedOffs::default(),
            unsent_on: None,
            sample_rate: 48_000.0,
        }
    }
}

impl Neume {
    /// Takes every melody waiting in the ring; the newest is queued for playback.
    fn take_melodies(&mut self) {
        if let Some(melody) = self.from_worker.latest() {
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
    // MIDI in (notes, controllers, pitch bend) passes through to the instrument after Neume
    // ("MIDI thru"). In VST3 this makes nice-plug register hidden MIDI-CC parameters.
    const MIDI_INPUT: MidiConfig = MidiConfig::MidiCCs;
    const MIDI_OUTPUT: MidiConfig = MidiConfig::MidiCCs;

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
        self.offline = buffer_config.process_mode == ProcessMode::Offline;
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
        if self.offline {
            // A bounce runs faster than real time: wait (bounded) for the melody of this
            // block's parameter changes, so it swaps in at the bar where playback has it.
            // (Taking melodies meanwhile keeps the ring from filling up.)
            let shared = self.shared.clone();
            shared.wait_handled(shared.wake.last(), OFFLINE_MELODY_TIMEOUT, || self.take_melodies());
        }
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
        let mut out = Output { context, incoming: None, thru: self.params.thru.value(), owed: &mut self.owed_offs, unsent_on: &mut self.unsent_on, dropped: 0 };
        out.start();
        self.sequencer.process(frames, self.sample_rate, &transport, &settings, &mut |event| {
            out.pass_until(event.offset_samples());
            out.send_melody(event);
        });
        out.pass_until(u32::MAX);
        let dropped = out.dropped;
        if dropped > 0 {
            self.shared.dropped_events.fetch_add(dropped, Ordering::Relaxed);
        }
        self.shared.position_steps.store(self.sequencer.position_steps() as f32, Ordering::Relaxed);
        // A generator runs whether or not audio comes in.
        ProcessStatus::KeepAlive
    }
}

/// A note-off on `channel` for `key`.
fn note_off(timing: u32, channel: u8, key: u8) -> PluginNoteEvent<Neume> {
    NoteEvent::NoteOff { timing, voice_id: VoiceID::Wildcard, channel: Channel::Number(channel), key: Key::Number(key), velocity: 0.0 }
}

/// One block's MIDI output: the melody's notes and the incoming ones merged in time order (the
/// host takes events sorted by time), with refused note-offs owed to the next block.
struct Output<'a, C: ProcessContext<Neume>> {
    context: &'a mut C,
    /// The next incoming event not yet passed on.
    incoming: Option<PluginNoteEvent<Neume>>,
    /// Pass incoming MIDI through (else drop it).
    thru: bool,
    owed: &'a mut OwedOffs,
    unsent_on: &'a mut Option<u8>,
    /// Events the host refused that are not owed note-offs.
    dropped: u64,
}

impl<C: ProcessContext<Neume>> Output<'_, C> {
    /// Sends the note-offs owed from earlier blocks, at sample 0, and reads the first
    /// incoming event.
    fn start(&mut self) {
        let context = &mut *self.context;
        self.owed.retry(|channel, key| context.try_send_event(note_off(0, channel, key)).is_ok());
        self.incoming = self.context.next_event();
    }

    /// Passes on the incoming events up to and including sample `until`.
    fn pass_until(&mut self, until: u32) {
        while let Some(event) = self.incoming.take_if(|e| e.timing() <= until) {
            if self.thru {
                self.send(event);
            }
            self.incoming = self.context.next_event();
        }
    }

    /// Sends one of the melody's notes (channel 1). A note whose note-on the host refused
    /// never sounded: its note-off is not sent.
    fn send_melody(&mut self, event: NoteOut) {
        match event {
            NoteOut::On { offset_samples, pitch, velocity } => {
                let on = NoteEvent::NoteOn { timing: offset_samples, voice_id: VoiceID::Wildcard, channel: Channel::Number(0), key: Key::Number(pitch), velocity: f32::from(velocity) / 127.0 };
                if self.context.try_send_event(on).is_err() {
                    *self.unsent_on = Some(pitch);
                    self.dropped += 1;
                }
            }
            NoteOut::Off { pitch, .. } if self.unsent_on.take_if(|p| *p == pitch).is_some() => {}
            NoteOut::Off { offset_samples, pitch } => self.send(note_off(offset_samples, 0, pitch)),
        }
    }

    /// Sends `event`; a refused note-off is owed (offered again from the next block on), any
    /// other refusal is counted.
    fn send(&mut self, event: PluginNoteEvent<Neume>) {
        if let Err((refused, _)) = self.context.try_send_event(event) {
            match refused {
                NoteEvent::NoteOff { channel: Channel::Number(channel), key: Key::Number(key), .. } => self.owed.owe(channel, key),
                _ => self.dropped += 1,
            }
        }
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
