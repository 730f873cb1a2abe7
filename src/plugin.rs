//! The Neume plugin (CLAP and VST3, through nice-plug): a MIDI generator a producer drops
//! on a track. It plays the melody the model invents as notes locked to the host transport.
//!
//! Threads:
//! - main thread: [`Neume::activate`] starts the instance's worker and waits for the first
//!   melody, so playback never waits for it later;
//! - worker thread ([`worker::worker_thread`]): model loading and generation;
//! - audio thread ([`audio`]: [`audio::process`] and the [`audio::sequencer`]): [`Neume::process`] takes the newest melody from the
//!   hand-off ([`cross::handoff`]), plays it, and passes incoming MIDI through. In real time it never
//!   allocates, locks, logs or waits (`assert_process_allocs` checks the first in debug
//!   builds); in an offline render (the host says so) it waits, bounded, for the melody of a
//!   parameter change, so a bounce swaps melodies where playback does.

pub mod audio;
pub mod cross;
pub mod editor;
pub mod worker;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use nice_plug::prelude::*;

use audio::audition::{Audition, AuditionSender};
use audio::capture::{CapturedClip, Recorder};
use audio::key_listener::KeyListener;
use audio::midi_out::{OwedOffs, Passed};
use audio::params_view::AudioParams;
use audio::process::AudioSide;
use audio::sequencer::Sequencer;
use audio::voice::Voice;
use cross::handoff::{MelodySender, Receiver};
use cross::shared::WorkerLink;
use worker::params::NeumeParams;
use worker::worker_thread::WorkerHandle;

/// How long `activate` waits for the first melody before playing silence until it comes.
const FIRST_MELODY_TIMEOUT: Duration = Duration::from_secs(10);

/// One plugin instance: its main-thread side and its audio-thread side.
pub struct Neume {
    params: Arc<NeumeParams>,
    /// The line to the worker (main thread and editor; holds locks: never the audio thread).
    link: Arc<WorkerLink>,
    /// The hand-off's sending end, until the worker starts and takes it.
    to_audio: Option<MelodySender>,
    /// The captured clips' receiving end, until the worker starts and takes it.
    from_capture: Option<Receiver<CapturedClip>>,
    /// The worker, from the first activation on.
    worker: Option<WorkerHandle>,
    /// The editor's end of the audition hand-off.
    audition: Arc<AuditionSender>,
    /// What `process()` runs on.
    audio: AudioSide,
}

impl Default for Neume {
    fn default() -> Self {
        let link = Arc::new(WorkerLink::default());
        let (to_audio, from_worker) = cross::handoff::channel();
        let (audition, audition_in) = cross::handoff::channel();
        let (to_worker, from_capture) = cross::handoff::channel_of(CapturedClip::NONE);
        let params = Arc::new(NeumeParams::new(link.wake.clone()));
        let audio = AudioSide {
            params: AudioParams::new(params.clone()),
            telemetry: link.telemetry.clone(),
            wake: link.wake.clone(),
            from_worker,
            sequencer: Sequencer::default(),
            owed_offs: OwedOffs::default(),
            passed: Passed::default(),
            unsent_on: None,
            key_listener: KeyListener::default(),
            recorder: Recorder::default(),
            to_worker,
            preview: Voice::new(48_000.0),
            audition_in,
            audition: Audition::new(48_000.0),
            offline: None,
            sample_rate: 48_000.0,
        };
        Neume {
            params,
            link,
            to_audio: Some(to_audio),
            from_capture: Some(from_capture),
            worker: None,
            audition: Arc::new(AuditionSender::new(audition)),
            audio,
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
    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[AudioIOLayout {
        main_input_channels: NonZeroU32::new(2),
        main_output_channels: NonZeroU32::new(2),
        ..AudioIOLayout::const_default()
    }];
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
        editor::create(self.params.clone(), self.link.clone(), self.audition.clone())
    }

    fn activate(
        &mut self,
        _layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        _context: &mut impl ActivateContext<Self>,
    ) -> bool {
        self.audio.sample_rate = f64::from(buffer_config.sample_rate);
        self.audio.preview = Voice::new(buffer_config.sample_rate);
        self.audio.audition = Audition::new(buffer_config.sample_rate);
        self.audio.offline = (buffer_config.process_mode == ProcessMode::Offline)
            .then(|| self.link.offline_waiter());
        if self.worker.is_none() {
            let (Some(to_audio), Some(from_capture)) =
                (self.to_audio.take(), self.from_capture.take())
            else {
                return false;
            };
            match WorkerHandle::spawn(
                self.params.clone(),
                self.link.clone(),
                to_audio,
                from_capture,
                worker::location::library_dirs(),
            ) {
                Ok(worker) => self.worker = Some(worker),
                Err(e) => {
                    nice_error!("Neume: cannot start the worker thread: {e}");
                    return false;
                }
            }
        }
        // The audio thread is idle during activation: take melodies here so the first block
        // already has one (offline renders then match real-time playback).
        let request = self.link.wake.wake();
        let audio = &mut self.audio;
        self.link.wait_handled(request, FIRST_MELODY_TIMEOUT, || audio.take_melodies());
        self.audio.take_melodies();
        true
    }

    fn reset(&mut self) {
        self.audio.sequencer.reset();
        self.audio.audition.stop();
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        self.audio.process(buffer, context)
    }
}

impl ClapPlugin for Neume {
    const CLAP_ID: &'static str = "audio.neume.melody-generator";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Melodies invented by a neural network, played as MIDI");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[ClapFeature::NoteEffect, ClapFeature::Utility];
}

impl Vst3Plugin for Neume {
    const VST3_CLASS_ID: [u8; 16] = *b"NeumeMelodyGen01";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Instrument, Vst3SubCategory::Generator];
}

nice_export_clap!(Neume);
nice_export_vst3!(Neume);
