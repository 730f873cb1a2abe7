//! A small CLAP host built on `clack-host`: loads the real plugin binary built by Cargo
//! (`target/<profile>/libneume.so`), drives its transport block by block and collects the notes
//! it sends. Shared by the plugin tests (`#[path]`-included).

#![allow(dead_code)]

use std::ffi::CStr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use clack_extensions::gui::{
    GuiApiType, GuiConfiguration, GuiSize, HostGui, HostGuiImpl, PluginGui, Window as ClapWindow,
};
use clack_extensions::params::{ParamInfoBuffer, PluginParams};
use clack_extensions::render::{PluginRender, RenderMode};
use clack_extensions::state::PluginState;
use clack_host::events::event_types::{
    MidiEvent, NoteOffEvent, NoteOnEvent, ParamValueEvent, TransportEvent, TransportFlags,
};
use clack_host::events::io::{OutputEventBuffer, TryPushError};
use clack_host::events::spaces::CoreEventSpace;
use clack_host::events::EventFlags;
use clack_host::events::{Match, UnknownEvent};
use clack_host::prelude::*;
use clack_host::utils::{BeatTime, SecondsTime};

/// The plugin's CLAP id.
pub const PLUGIN_ID: &CStr = c"audio.neume.melody-generator";

/// The plugin binary next to the test executable (`target/debug/deps/..` → `target/debug`).
pub fn plugin_path() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable has a path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("tests run from target/<profile>/deps");
    let name = if cfg!(target_os = "macos") {
        "libneume.dylib"
    } else if cfg!(windows) {
        "neume.dll"
    } else {
        "libneume.so"
    };
    let path = dir.join(name);
    let hint = "build it first: `cargo build --workspace --all-targets` (scripts/test.sh does)";
    let built = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("plugin binary {} is missing; {hint}", path.display()));
    // `cargo test` does not rebuild the cdylib: refuse to test a stale one.
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    if let Some(newer) = newest_file(std::path::Path::new(src)).filter(|(t, _)| *t > built) {
        panic!("plugin binary {} is older than {}; {hint}", path.display(), newer.1.display());
    }
    path
}

/// The most recently modified file under `dir` that goes into the plugin binary: not
/// `src/main.rs`, the CLI's own (a change to it alone rebuilds the CLI, not the plugin).
fn newest_file(dir: &std::path::Path) -> Option<(std::time::SystemTime, PathBuf)> {
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == "main.rs")
            && path.parent().is_some_and(|p| p.ends_with("src"))
        {
            continue;
        }
        let candidate = if path.is_dir() {
            newest_file(&path)
        } else {
            entry.metadata().and_then(|m| m.modified()).ok().map(|t| (t, path))
        };
        if let Some(c) = candidate {
            if newest.as_ref().is_none_or(|n| c.0 > n.0) {
                newest = Some(c);
            }
        }
    }
    newest
}

pub struct TestHostShared {
    state: OnceLock<Option<PluginState>>,
    params: OnceLock<Option<PluginParams>>,
    gui: OnceLock<Option<PluginGui>>,
    render: OnceLock<Option<PluginRender>>,
    /// The plugin asked for a main-thread callback.
    callback_requested: AtomicBool,
}

impl<'a> SharedHandler<'a> for TestHostShared {
    fn initializing(&self, instance: InitializingPluginHandle<'a>) {
        let _ = self.state.set(instance.get_extension());
        let _ = self.params.set(instance.get_extension());
        let _ = self.gui.set(instance.get_extension());
        let _ = self.render.set(instance.get_extension());
    }
    fn request_restart(&self) {}
    fn request_process(&self) {}
    fn request_callback(&self) {
        self.callback_requested.store(true, Ordering::Release);
    }
}

impl HostGuiImpl for TestHostShared {
    fn resize_hints_changed(&self) {}
    fn request_resize(&self, _new_size: GuiSize) -> Result<(), HostError> {
        Ok(())
    }
    fn request_show(&self) -> Result<(), HostError> {
        Ok(())
    }
    fn request_hide(&self) -> Result<(), HostError> {
        Ok(())
    }
    fn closed(&self, _was_destroyed: bool) {}
}

pub struct TestHost;

impl HostHandlers for TestHost {
    type Shared<'a> = TestHostShared;
    type MainThread<'a> = ();
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        builder.register::<HostGui>();
    }
}

/// A note event as the host received it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Note {
    On { key: u8, velocity_127: u8 },
    Off { key: u8 },
}

/// The transport the host reports for one block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transport {
    pub playing: bool,
    pub tempo_bpm: f64,
    /// `None`: the host gives no song position.
    pub pos_beats: Option<f64>,
    pub loop_beats: Option<(f64, f64)>,
    /// The host rounds the beat position it reports to multiples of this (Ardour: 1/1920 of
    /// a quarter); the seconds stay exact.
    pub beat_quantum: Option<f64>,
    /// Whether the host reports a position in seconds too (not only in beats).
    pub seconds_timeline: bool,
    /// The song's meters: `(first bar, numerator, denominator)`, sorted, the last running on;
    /// empty: the host gives no time signature.
    pub meters: &'static [(i32, u8, u8)],
}

/// The bar at `pos` (quarter beats) of a song with `meters`: its number, start and length.
pub fn bar_at(meters: &[(i32, u8, u8)], pos: f64) -> (i32, f64, f64) {
    let (mut number, mut start) = (0i32, 0.0f64);
    for (i, &(_, n, d)) in meters.iter().enumerate() {
        let len = f64::from(n) * 4.0 / f64::from(d);
        let next_change = meters.get(i + 1).map(|&(bar, ..)| bar);
        while next_change != Some(number) {
            if pos < start + len - 1e-9 || (next_change.is_none() && pos < start + len) {
                return (number, start, len);
            }
            start += len;
            number += 1;
        }
    }
    (number, start, 4.0)
}

impl Transport {
    pub fn playing_at(pos_beats: f64, tempo_bpm: f64) -> Transport {
        Transport {
            playing: true,
            tempo_bpm,
            pos_beats: Some(pos_beats),
            loop_beats: None,
            beat_quantum: None,
            seconds_timeline: true,
            meters: &[(0, 4, 4)],
        }
    }

    pub fn stopped() -> Transport {
        Transport { playing: false, ..Transport::playing_at(0.0, 120.0) }
    }

    fn event(&self) -> TransportEvent {
        let mut flags = TransportFlags::HAS_TEMPO;
        if !self.meters.is_empty() {
            flags |= TransportFlags::HAS_TIME_SIGNATURE;
        }
        if self.playing {
            flags |= TransportFlags::IS_PLAYING;
        }
        if self.pos_beats.is_some() {
            flags |= TransportFlags::HAS_BEATS_TIMELINE;
            if self.seconds_timeline {
                flags |= TransportFlags::HAS_SECONDS_TIMELINE;
            }
        }
        if self.loop_beats.is_some() {
            flags |= TransportFlags::IS_LOOP_ACTIVE;
        }
        let pos = self.pos_beats.unwrap_or(0.0);
        let (ls, le) = self.loop_beats.unwrap_or((0.0, 0.0));
        // Without a time signature a host still fills the fields: 4/4 from beat 0.
        let meters: &[(i32, u8, u8)] =
            if self.meters.is_empty() { &[(0, 4, 4)] } else { self.meters };
        let (bar_number, bar_start, _) = bar_at(meters, pos);
        let (numerator, denominator) = meters
            .iter()
            .rev()
            .find(|(first, ..)| *first <= bar_number)
            .map_or((4, 4), |&(_, n, d)| (u16::from(n), u16::from(d)));
        let seconds = |beats: f64| SecondsTime::from_float(beats * 60.0 / self.tempo_bpm);
        TransportEvent {
            header: EventHeader::new_core(0, EventFlags::empty()),
            flags,
            song_pos_beats: BeatTime::from_float(
                self.beat_quantum.map_or(pos, |q| (pos / q).round() * q),
            ),
            song_pos_seconds: seconds(pos),
            tempo: self.tempo_bpm,
            tempo_inc: 0.0,
            loop_start_beats: BeatTime::from_float(ls),
            loop_end_beats: BeatTime::from_float(le),
            loop_start_seconds: seconds(ls),
            loop_end_seconds: seconds(le),
            bar_start: BeatTime::from_float(bar_start),
            bar_number,
            time_signature_numerator: numerator,
            time_signature_denominator: denominator,
        }
    }
}

/// One loaded plugin instance.
pub struct Host {
    instance: PluginInstance<TestHost>,
    processor: Option<StartedPluginAudioProcessor<TestHost>>,
    output: EventBuffer,
    audio_in: Vec<Vec<f32>>,
    audio_out: Vec<Vec<f32>>,
    max_frames: u32,
}

impl Host {
    /// Loads the plugin binary and creates an instance.
    /// `NEUME_TEST_PLUGIN` names another plugin file (a bundle, to check an install).
    pub fn load() -> Host {
        let path =
            std::env::var_os("NEUME_TEST_PLUGIN").map(PathBuf::from).unwrap_or_else(plugin_path);
        // SAFETY: the file is our own plugin, built by Cargo for this test.
        let entry = unsafe { PluginEntry::load(&path) }
            .unwrap_or_else(|e| panic!("loading {}: {e:?}", path.display()));
        let info = HostInfo::new("neume-test-host", "Neume", "https://example.com", "0.1")
            .expect("valid host info");
        let instance = PluginInstance::<TestHost>::new(
            |_| TestHostShared {
                state: OnceLock::new(),
                params: OnceLock::new(),
                gui: OnceLock::new(),
                render: OnceLock::new(),
                callback_requested: AtomicBool::new(false),
            },
            |_| (),
            &entry,
            PLUGIN_ID,
            &info,
        )
        .unwrap_or_else(|e| panic!("instantiating {PLUGIN_ID:?}: {e:?}"));
        Host {
            instance,
            processor: None,
            output: EventBuffer::with_capacity(16_384),
            audio_in: Vec::new(),
            audio_out: Vec::new(),
            max_frames: 0,
        }
    }

    /// Tells the plugin that it renders offline (faster than real time, as a DAW's bounce),
    /// before it is activated.
    pub fn render_offline(&mut self) {
        let render = self
            .instance
            .access_shared_handler(|h| *h.render.get().expect("initialized"))
            .expect("the plugin has the render extension");
        render
            .set(&mut self.instance.plugin_handle(), RenderMode::Offline)
            .expect("render mode set");
    }

    /// Activates at `sample_rate` for blocks up to `max_frames`, and starts processing.
    pub fn activate(&mut self, sample_rate: f64, max_frames: u32) {
        let config = PluginAudioConfiguration {
            sample_rate,
            min_frames_count: 1,
            max_frames_count: max_frames,
        };
        let stopped = self
            .instance
            .activate(|_, _| (), config)
            .unwrap_or_else(|e| panic!("activating at {sample_rate} Hz: {e:?}"));
        self.processor =
            Some(stopped.start_processing().unwrap_or_else(|e| panic!("start processing: {e:?}")));
        self.max_frames = max_frames;
        self.audio_in = vec![vec![0.0; max_frames as usize]; 2];
        self.audio_out = vec![vec![0.0; max_frames as usize]; 2];
    }

    /// Sets the audio input of the next blocks: `samples` repeated over the block, both channels.
    pub fn set_audio_input(&mut self, samples: &[f32]) {
        for channel in &mut self.audio_in {
            for (i, s) in channel.iter_mut().enumerate() {
                *s = samples[i % samples.len()];
            }
        }
    }

    /// The audio output of the last block (both channels, the activated maximum length).
    pub fn audio_output(&self) -> &[Vec<f32>] {
        &self.audio_out
    }

    /// Stops processing and deactivates.
    pub fn deactivate(&mut self) {
        if let Some(p) = self.processor.take() {
            self.instance.deactivate(p.stop_processing());
        }
    }

    /// Processes one block of `frames` (at most the activated maximum) with `params`
    /// changes at sample 0; returns the notes sent, with their sample offsets.
    pub fn process(
        &mut self,
        frames: u32,
        transport: &Transport,
        params: &[(ClapId, f64)],
    ) -> Vec<(u32, Note)> {
        self.process_io(frames, transport, params, &[], None)
            .into_iter()
            .map(|(at, _, note)| (at, note))
            .collect()
    }

    /// Like [`Host::process`], with `notes_in` (offset, channel, note) played into the plugin's
    /// note input, and an output queue that takes at most `capacity` events (then refuses
    /// every push, as a host with a full queue does). Returns (offset, channel, note).
    pub fn process_io(
        &mut self,
        frames: u32,
        transport: &Transport,
        params: &[(ClapId, f64)],
        notes_in: &[(u32, u8, Note)],
        capacity: Option<usize>,
    ) -> Vec<(u32, u8, Note)> {
        self.process_midi(frames, transport, params, notes_in, &[], capacity).0
    }

    /// Like [`Host::process_io`], with raw MIDI 1.0 messages `midi_in` (offset, bytes) too;
    /// returns the notes and the raw MIDI messages sent.
    pub fn process_midi(
        &mut self,
        frames: u32,
        transport: &Transport,
        params: &[(ClapId, f64)],
        notes_in: &[(u32, u8, Note)],
        midi_in: &[(u32, [u8; 3])],
        capacity: Option<usize>,
    ) -> (Vec<(u32, u8, Note)>, Vec<(u32, [u8; 3])>) {
        assert!(frames >= 1 && frames <= self.max_frames, "block of {frames} frames");
        let processor = self.processor.as_mut().expect("activated");
        let mut ports_in = AudioPorts::with_capacity(2, 1);
        let mut ports_out = AudioPorts::with_capacity(2, 1);
        let n = frames as usize;
        let inputs = ports_in.with_input_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_input_only(
                self.audio_in.iter_mut().map(|b| InputChannel::variable(&mut b[..n])),
            ),
        }]);
        let mut outputs = ports_out.with_output_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_output_only(
                self.audio_out.iter_mut().map(|b| &mut b[..n]),
            ),
        }]);
        let mut events_in = EventBuffer::new();
        for &(id, value) in params {
            events_in.push(&ParamValueEvent::new(0, id, Pckn::match_all(), value));
        }
        for &(at, channel, note) in notes_in {
            let pckn = |key: u8| Pckn::new(0u16, u16::from(channel), u16::from(key), Match::All);
            match note {
                Note::On { key, velocity_127 } => events_in.push(&NoteOnEvent::new(
                    at,
                    pckn(key),
                    f64::from(velocity_127) / 127.0,
                )),
                Note::Off { key } => events_in.push(&NoteOffEvent::new(at, pckn(key), 0.0)),
            }
        }
        for &(at, data) in midi_in {
            events_in.push(&MidiEvent::new(at, 0, data));
        }
        events_in.sort();
        let input_events = InputEvents::from_buffer(&events_in);
        self.output.clear();
        let mut limited = Limited { inner: &mut self.output, left: capacity.unwrap_or(usize::MAX) };
        let mut output_events = OutputEvents::from_buffer(&mut limited);
        let transport = transport.event();
        processor
            .process(
                &inputs,
                &mut outputs,
                &input_events,
                &mut output_events,
                None,
                Some(&transport),
            )
            .unwrap_or_else(|e| panic!("process: {e:?}"));
        let (mut notes, mut midi) = (Vec::new(), Vec::new());
        let mut last = 0;
        for event in &self.output {
            let at = event.header().time();
            // CLAP: a plugin's output events come sorted by time.
            assert!(at >= last, "output events out of time order ({at} after {last})");
            last = at;
            match event.as_core_event() {
                Some(CoreEventSpace::NoteOn(e)) => notes.push((
                    at,
                    channel(e.pckn()),
                    Note::On {
                        key: key(e.pckn()),
                        velocity_127: (e.velocity() * 127.0).round() as u8,
                    },
                )),
                Some(CoreEventSpace::NoteOff(e)) => {
                    notes.push((at, channel(e.pckn()), Note::Off { key: key(e.pckn()) }))
                }
                Some(CoreEventSpace::Midi(e)) => midi.push((at, e.data())),
                _ => {}
            }
        }
        (notes, midi)
    }

    /// The plugin's parameters: (name, id, min, max).
    pub fn params(&mut self) -> Vec<(String, ClapId, f64, f64)> {
        let ext = self
            .instance
            .access_shared_handler(|h| *h.params.get().expect("initialized"))
            .expect("the plugin has the params extension");
        let mut handle = self.instance.plugin_handle();
        let mut buffer = ParamInfoBuffer::new();
        (0..ext.count(&mut handle))
            .filter_map(|i| {
                ext.get_info(&mut handle, i, &mut buffer).map(|p| {
                    (String::from_utf8_lossy(p.name).into_owned(), p.id, p.min_value, p.max_value)
                })
            })
            .collect()
    }

    /// The id of the parameter named `name`.
    pub fn param_id(&mut self, name: &str) -> ClapId {
        self.params()
            .into_iter()
            .find(|p| p.0 == name)
            .unwrap_or_else(|| panic!("no parameter `{name}`"))
            .1
    }

    /// Runs the main-thread callback the plugin asked for, if any.
    pub fn main_thread_tick(&mut self) {
        if self
            .instance
            .access_shared_handler(|h| h.callback_requested.swap(false, Ordering::AcqRel))
        {
            self.instance.call_on_main_thread_callback();
        }
    }

    /// Opens the editor embedded in the X11 window `parent`; returns its size in pixels.
    pub fn open_editor_x11(&mut self, parent: u32) -> (u32, u32) {
        self.open_editor_x11_scaled(parent, None)
    }

    /// [`Host::open_editor_x11`], the host telling the editor its display's scale first
    /// (`gui.set_scale`, as a host on a HiDPI screen does); `None`: it says nothing.
    pub fn open_editor_x11_scaled(&mut self, parent: u32, scale: Option<f64>) -> (u32, u32) {
        let gui = self
            .instance
            .access_shared_handler(|h| *h.gui.get().expect("initialized"))
            .expect("the plugin has the gui extension");
        let mut handle = self.instance.plugin_handle();
        gui.create(&mut handle, GuiConfiguration { api_type: GuiApiType::X11, is_floating: false })
            .expect("gui.create");
        if let Some(scale) = scale {
            gui.set_scale(&handle, scale).expect("gui.set_scale");
        }
        let size = gui.get_size(&mut handle).expect("gui.get_size");
        // SAFETY: the test keeps `parent` alive until the editor is destroyed.
        unsafe { gui.set_parent(&mut handle, ClapWindow::from_x11_handle(parent.into())) }
            .expect("gui.set_parent");
        gui.show(&mut handle).expect("gui.show");
        (size.width, size.height)
    }

    /// Opens the editor embedded in the Win32 window `parent`; returns its size.
    #[cfg(windows)]
    pub fn open_editor_win32(&mut self, parent: *mut std::ffi::c_void) -> (u32, u32) {
        let gui = self
            .instance
            .access_shared_handler(|h| *h.gui.get().expect("initialized"))
            .expect("the plugin has the gui extension");
        let mut handle = self.instance.plugin_handle();
        gui.create(
            &mut handle,
            GuiConfiguration { api_type: GuiApiType::WIN32, is_floating: false },
        )
        .expect("gui.create");
        let size = gui.get_size(&mut handle).expect("gui.get_size");
        // SAFETY: the test keeps `parent` alive until the editor is destroyed.
        unsafe { gui.set_parent(&mut handle, ClapWindow::from_win32_hwnd(parent)) }
            .expect("gui.set_parent");
        gui.show(&mut handle).expect("gui.show");
        (size.width, size.height)
    }

    /// Asks the editor to take a new size, as a host does when the user resizes its window.
    pub fn resize_editor(&mut self, width: u32, height: u32) -> bool {
        let gui = self
            .instance
            .access_shared_handler(|h| *h.gui.get().expect("initialized"))
            .expect("the plugin has the gui extension");
        gui.set_size(&mut self.instance.plugin_handle(), GuiSize { width, height }).is_ok()
    }

    /// Closes the editor.
    pub fn close_editor(&mut self) {
        let gui = self
            .instance
            .access_shared_handler(|h| *h.gui.get().expect("initialized"))
            .expect("the plugin has the gui extension");
        gui.destroy(&mut self.instance.plugin_handle());
    }

    /// Saves the plugin state (what a DAW stores in the project).
    pub fn save_state(&mut self) -> Vec<u8> {
        let ext = self
            .instance
            .access_shared_handler(|h| *h.state.get().expect("initialized"))
            .expect("the plugin has the state extension");
        let mut out = Vec::new();
        ext.save(&mut self.instance.plugin_handle(), &mut out).expect("state saves");
        out
    }

    /// The saved state as JSON: nice-plug's CLAP state is a little-endian u64 length, then
    /// JSON whose persisted fields are JSON strings themselves.
    pub fn state_json(&mut self) -> serde_json::Value {
        serde_json::from_slice(&self.save_state()[8..]).expect("the state is JSON")
    }

    /// Loads a state given as JSON (see [`Host::state_json`]).
    pub fn load_state_json(&mut self, state: &serde_json::Value) {
        let json = serde_json::to_vec(state).expect("JSON");
        let bytes: Vec<u8> = (json.len() as u64).to_le_bytes().into_iter().chain(json).collect();
        self.load_state(&bytes);
    }

    /// Loads a saved state.
    pub fn load_state(&mut self, bytes: &[u8]) {
        let ext = self
            .instance
            .access_shared_handler(|h| *h.state.get().expect("initialized"))
            .expect("the plugin has the state extension");
        ext.load(&mut self.instance.plugin_handle(), &mut std::io::Cursor::new(bytes))
            .expect("state loads");
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.deactivate();
    }
}

fn key(pckn: Pckn) -> u8 {
    pckn.raw_key().clamp(0, 127) as u8
}

fn channel(pckn: Pckn) -> u8 {
    pckn.raw_channel().clamp(0, 15) as u8
}

/// An output queue that takes `left` more events, then refuses.
struct Limited<'a> {
    inner: &'a mut EventBuffer,
    left: usize,
}

impl OutputEventBuffer for Limited<'_> {
    fn try_push(&mut self, event: &UnknownEvent) -> Result<(), TryPushError> {
        if self.left == 0 {
            return Err(TryPushError::new());
        }
        self.left -= 1;
        self.inner.push(event);
        Ok(())
    }
}

/// Tracks sounding notes across blocks and checks the event stream's invariants.
#[derive(Debug, Default)]
pub struct NoteLedger {
    /// Keys on now.
    pub sounding: Vec<u8>,
    /// Only Neume's melody plays (no MIDI passed through): at most one note at a time.
    pub monophonic: bool,
    pub ons: usize,
    pub offs: usize,
}

impl NoteLedger {
    /// A ledger for Neume's own melody: monophonic.
    pub fn melody() -> NoteLedger {
        NoteLedger { monophonic: true, ..NoteLedger::default() }
    }

    /// Adds one block's events; panics on events out of time order, offsets outside the
    /// block, a note-off for a key not on, a second note-on of a key already on, or (when
    /// `monophonic`) a note-on while another note is on.
    pub fn add(&mut self, frames: u32, events: &[(u32, Note)]) {
        let mut last = 0;
        for &(at, note) in events {
            assert!(at < frames, "event at {at} in a block of {frames}");
            assert!(at >= last, "events out of order: {events:?}");
            last = at;
            match note {
                Note::On { key, .. } => {
                    assert!(!self.sounding.contains(&key), "note-on of key {key} already on");
                    assert!(
                        !self.monophonic || self.sounding.is_empty(),
                        "note-on of key {key} while {:?} sound",
                        self.sounding
                    );
                    self.sounding.push(key);
                    self.ons += 1;
                }
                Note::Off { key } => {
                    let i = self
                        .sounding
                        .iter()
                        .position(|k| *k == key)
                        .unwrap_or_else(|| panic!("note-off of key {key} not on"));
                    self.sounding.remove(i);
                    self.offs += 1;
                }
            }
        }
    }
}
