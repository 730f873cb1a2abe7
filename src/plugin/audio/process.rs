//! `process()`, on the audio thread: the block's transport read once, the melody taken from
//! the hand-off, the sequencer, capture, the key listener and the voices run, and the MIDI
//! output (the melody and thru merged in time order) sent. [`AudioSide`] holds only what the
//! audio thread may touch; `Neume` (main thread) owns it and hands it `process()`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use nice_plug::midi::{Channel, Key, VoiceID};
use nice_plug::prelude::*;

use crate::plugin::audio::audition::Audition;
use crate::plugin::audio::capture::{CapturedClip, Grid, Recorder};
use crate::plugin::audio::key_listener::KeyListener;
use crate::plugin::audio::midi_out::{OwedOffs, Passed, Verdict};
use crate::plugin::audio::params_view::AudioParams;
use crate::plugin::audio::sequencer::{HostBar, NoteOut, Sequencer, TransportInfo};
use crate::plugin::audio::settings::PlaySettings;
use crate::plugin::audio::voice::Voice;
use crate::plugin::cross::handoff::{MelodyReceiver, Sender};
use crate::plugin::cross::shared::{AudioTelemetry, OfflineWaiter, Wake};
use crate::plugin::Neume;

/// How long a block of an offline render waits for the melody of a parameter change (it has
/// no real time to keep; real-time playback has the melody about 2 ms after the change).
const OFFLINE_MELODY_TIMEOUT: Duration = Duration::from_secs(2);
/// The General MIDI drum channel (channel 10, numbered from 0).
const DRUM_CHANNEL: u8 = 9;

/// MIDI controller number of the sustain (damper) pedal.
const SUSTAIN_PEDAL_CC: u8 = 64;

/// What `process()` may touch: the parameters' atomics, the hand-off's receiving end, the
/// telemetry atomics, fixed-size playback state, and a waiter only in an offline render.
pub(crate) struct AudioSide {
    /// The parameters' atomics (no persisted field: see [`AudioParams`]).
    pub(crate) params: AudioParams,
    pub(crate) telemetry: Arc<AudioTelemetry>,
    /// Wakes the worker when the host's meter changes (an atomic and a futex wake).
    pub(crate) wake: Arc<Wake>,
    /// Melodies from the worker (and `activate`'s, while the audio thread is idle).
    pub(crate) from_worker: MelodyReceiver,
    pub(crate) sequencer: Sequencer,
    /// Note-offs the host refused.
    pub(crate) owed_offs: OwedOffs,
    /// What MIDI thru passed on, and the melody's sounding note.
    pub(crate) passed: Passed,
    /// The melody note whose note-on the host refused: its note-off is not sent.
    pub(crate) unsent_on: Option<u8>,
    /// The key of what the musician plays into Neume.
    pub(crate) key_listener: KeyListener,
    /// Capture, and where its takes go (to the worker).
    pub(crate) recorder: Recorder,
    pub(crate) to_worker: Sender<CapturedClip>,
    /// The Preview voice.
    pub(crate) preview: Voice,
    /// What the editor asks to hear, and its own voice.
    pub(crate) audition_in: MelodyReceiver,
    pub(crate) audition: Audition,
    /// Set at activation when the host renders offline (a bounce): such a block may wait.
    pub(crate) offline: Option<OfflineWaiter>,
    pub(crate) sample_rate: f64,
}

impl AudioSide {
    /// Takes the newest melody from the worker, if one came, queued for playback.
    pub(crate) fn take_melodies(&mut self) {
        if let Some(melody) = self.from_worker.latest() {
            self.sequencer.set_pending(melody);
        }
    }

    pub(crate) fn process(
        &mut self,
        buffer: &mut Buffer,
        context: &mut impl ProcessContext<Neume>,
    ) -> ProcessStatus {
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
        // The host's meter, when it gives its time signature: a new one wakes the worker
        // before an offline render waits for it, so a bounce plays in it from its first block.
        let signature = match {
            let t = context.transport();
            (t.time_sig_numerator, t.time_sig_denominator)
        } {
            (Some(n), Some(d)) if (1..=64).contains(&n) && [1, 2, 4, 8, 16, 32].contains(&d) => {
                Some((n as u8, d as u8))
            }
            _ => None,
        };
        let code = signature.map_or(0, |(n, d)| u16::from(n) << 8 | u16::from(d));
        if self.telemetry.host_signature.swap(code, Ordering::Relaxed) != code {
            self.wake.wake();
        }
        if let Some(waiter) = self.offline.take() {
            // A bounce runs faster than real time: wait (bounded) for the melody of this
            // block's parameter changes, so it swaps in at the bar where playback has it.
            waiter.wait_for_latest(OFFLINE_MELODY_TIMEOUT, &self.telemetry.clone(), || {
                self.take_melodies()
            });
            self.offline = Some(waiter);
        }
        self.take_melodies();
        if self.from_worker.is_abandoned() {
            self.telemetry.worker_alive.store(false, Ordering::Relaxed);
        }
        let t = context.transport();
        if let Some(tempo) = t.tempo {
            self.telemetry.tempo_bpm.store(tempo as f32, Ordering::Relaxed);
        }
        // The sample position only as the host gave it (VST3: samples, CLAP: seconds), never
        // derived from beats, which hosts round.
        let pos_samples = t.pos_samples.or_else(|| {
            t.pos_seconds.filter(|s| s.is_finite()).map(|s| (s * self.sample_rate).round() as i64)
        });
        // CLAP gives the bar's start and number. VST3 gives no bar number, and hosts fill its
        // bar position each their own way (Ardour 7: 4 beats before the song's first bar in
        // 4/4, 2 beats in 3/4; others send the bar's index): there the bars are counted from
        // the song position, the meter taken as running from the start of the song.
        let bar = signature.and_then(|(n, d)| {
            let len_beats = f64::from(n) * 4.0 / f64::from(d);
            let (start_beats, number) = match (t.bar_number, t.bar_start_pos_beats) {
                (Some(number), Some(start)) => (start, i64::from(number)),
                _ => {
                    let bars = (t.pos_beats()? / len_beats).floor();
                    (bars * len_beats, bars as i64)
                }
            };
            Some(HostBar { start_beats, number, len_beats })
        });
        let transport = TransportInfo {
            playing: t.playing,
            tempo_bpm: t.tempo,
            pos_beats: t.pos_beats(),
            pos_samples,
            loop_beats: t.loop_range_beats(),
            bar,
        };
        // Capture records on the song's bar grid while the transport plays.
        let grid = capture_grid(&transport, signature, self.sample_rate);
        let (capture_on, capture_bars, again) = self.params.capture();
        self.recorder.begin_block(capture_on, capture_bars, grid, again);
        let settings: PlaySettings = self.params.play_settings();
        // An audition plays at the host's tempo, or the last one it gave.
        let audition_tempo =
            t.tempo.filter(|t| t.is_finite() && *t > 0.0).unwrap_or(self.sequencer.tempo_bpm());
        let mut out = Output {
            context,
            incoming: None,
            thru: self.params.thru(),
            melody_channel: settings.channel,
            owed: &mut self.owed_offs,
            passed: &mut self.passed,
            unsent_on: &mut self.unsent_on,
            key_listener: &mut self.key_listener,
            recorder: &mut self.recorder,
            sample_rate: self.sample_rate,
            dropped: 0,
        };
        out.start();
        // The Preview voice plays the melody into the audio output, rendered up to each event
        // before the event applies; switched off, it only finishes a fading note. An audition
        // has the output to itself while it plays.
        if let Some(request) = self.audition_in.latest() {
            self.audition.start(request);
        }
        let preview_on = self.params.preview() && self.audition.playing().is_none();
        if !preview_on {
            self.preview.release();
        }
        let voice = &mut self.preview;
        let channels = buffer.as_slice();
        let mut rendered = 0usize;
        let mut render_to = |voice: &mut Voice, until: usize| {
            if voice.is_sounding() {
                for i in rendered..until {
                    let sample = voice.next_sample();
                    for channel in channels.iter_mut() {
                        if let Some(s) = channel.get_mut(i) {
                            *s += sample;
                        }
                    }
                }
            }
            rendered = rendered.max(until);
        };
        self.sequencer.process(frames, self.sample_rate, &transport, &settings, &mut |event| {
            out.pass_until(event.offset_samples());
            out.send_melody(event);
            render_to(voice, (event.offset_samples() as usize).min(frames as usize));
            if preview_on {
                match event {
                    NoteOut::On { pitch, velocity, .. } => voice.note_on(pitch, velocity),
                    NoteOut::Off { pitch, .. } => voice.note_off(pitch),
                }
            }
        });
        render_to(voice, frames as usize);
        self.audition.render(
            buffer.as_slice(),
            frames as usize,
            self.sample_rate,
            audition_tempo,
            &settings,
        );
        self.telemetry.audition.store(self.audition.playing().unwrap_or(0), Ordering::Relaxed);
        out.pass_until(u32::MAX);
        let dropped = out.dropped;
        if dropped > 0 {
            self.telemetry.dropped_events.fetch_add(dropped, Ordering::Relaxed);
        }
        // A finished take goes to the worker.
        if let Some(clip) = self.recorder.end_block(frames) {
            self.to_worker.send(clip);
            self.wake.wake();
        }
        self.telemetry.capture.store(self.recorder.phase() as u8, Ordering::Relaxed);
        // A newly heard key wakes the worker when the key comes from the input.
        let heard = crate::music::key_finding::Key::code(
            self.key_listener.end_block(frames, self.sample_rate),
        );
        if self.telemetry.heard_key.swap(heard, Ordering::Relaxed) != heard
            && self.params.key_from_input()
        {
            self.wake.wake();
        }
        self.telemetry
            .position_steps
            .store(self.sequencer.position_steps() as f32, Ordering::Relaxed);
        // A generator runs whether or not audio comes in.
        ProcessStatus::KeepAlive
    }
}

/// Where a block lies on the song's bar grid for Capture: `None` while the transport is
/// stopped, or without a tempo, a position or a usable bar start. Without a time signature
/// the song is 4/4 bars from beat 0, and a meter Neume does not play (5/4, 7/8) is recorded
/// in 4/4 bars from the song's bar line, as playback takes both.
fn capture_grid(
    transport: &TransportInfo,
    signature: Option<(u8, u8)>,
    sample_rate: f64,
) -> Option<Grid> {
    let tempo = transport.tempo_bpm.filter(|t| t.is_finite() && *t > 0.0)?;
    let block_beats = transport.pos_beats.filter(|b| b.is_finite() && b.abs() < 1e12)?;
    if !transport.playing || !(sample_rate > 0.0) {
        return None;
    }
    let (meter, bar_origin_beats) = match signature {
        Some((n, d)) => (
            crate::encoding::Meter::for_signature(n, d)
                .map_or(crate::encoding::Meter::FourFour, |(meter, _)| meter),
            transport.bar.and_then(HostBar::usable)?.start_beats,
        ),
        None => (crate::encoding::Meter::FourFour, 0.0),
    };
    Some(Grid {
        block_beats,
        beats_per_sample: tempo / 60.0 / sample_rate,
        bar_origin_beats,
        meter,
        loop_beats: transport
            .loop_beats
            .filter(|(s, e)| s.is_finite() && e.is_finite() && e - s > 1e-3),
    })
}

/// A note-off on `channel` for `key`.
fn note_off(timing: u32, channel: u8, key: u8) -> PluginNoteEvent<Neume> {
    NoteEvent::NoteOff {
        timing,
        voice_id: VoiceID::Wildcard,
        channel: Channel::Number(channel),
        key: Key::Number(key),
        velocity: 0.0,
    }
}

/// One block's MIDI output: the melody's notes and the incoming ones merged in time order (the
/// host takes events sorted by time), with refused note-offs owed to the next block.
struct Output<'a, C: ProcessContext<Neume>> {
    context: &'a mut C,
    /// The next incoming event not yet passed on.
    incoming: Option<PluginNoteEvent<Neume>>,
    /// Pass incoming MIDI through (else only the ends of what passed before).
    thru: bool,
    /// The channel new melody notes start on, 0..=15.
    melody_channel: u8,
    owed: &'a mut OwedOffs,
    passed: &'a mut Passed,
    unsent_on: &'a mut Option<u8>,
    /// Hears every incoming note, passed on or not.
    key_listener: &'a mut KeyListener,
    /// Records every incoming note while Capture is on.
    recorder: &'a mut Recorder,
    sample_rate: f64,
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

    /// Passes on the incoming events up to and including sample `until`: everything while
    /// Thru is on, and always the ends (note-offs, sustain releases) of what passed.
    fn pass_until(&mut self, until: u32) {
        while let Some(event) = self.incoming.take_if(|e| e.timing() <= until) {
            let verdict = match event {
                NoteEvent::NoteOn { timing, channel, key, .. } => match (channel, key) {
                    (Channel::Number(c), Key::Number(k)) => {
                        // Drums carry no melody and no key (as in files: `midi::read_file`).
                        if c != DRUM_CHANNEL {
                            self.key_listener.note_on(k, timing);
                            self.recorder.note_on(k, timing);
                        }
                        self.passed.note_on(self.thru, c, k)
                    }
                    _ => Verdict::Drop,
                },
                NoteEvent::NoteOff { timing, channel: Channel::Number(c), key, .. } => {
                    if let Some(k) = key.number().filter(|_| c != DRUM_CHANNEL) {
                        self.key_listener.note_off(k, timing, self.sample_rate);
                        self.recorder.note_off(k, timing);
                    }
                    self.passed.note_off(self.thru, c, key.number())
                }
                NoteEvent::MidiCC { channel, cc: SUSTAIN_PEDAL_CC, value, .. } => {
                    self.passed.sustain(self.thru, channel, value >= 0.5)
                }
                _ if self.thru => Verdict::Send,
                _ => Verdict::Drop,
            };
            if verdict == Verdict::Send {
                self.send(event);
            }
            self.incoming = self.context.next_event();
        }
    }

    /// Sends one of the melody's notes, on the melody channel (its note-off on the channel
    /// its note-on went to). A note whose note-on the host refused never sounded: its
    /// note-off is not sent.
    fn send_melody(&mut self, event: NoteOut) {
        match event {
            NoteOut::On { offset_samples, pitch, velocity } => {
                let channel = self.melody_channel;
                let on = NoteEvent::NoteOn {
                    timing: offset_samples,
                    voice_id: VoiceID::Wildcard,
                    channel: Channel::Number(channel),
                    key: Key::Number(pitch),
                    velocity: f32::from(velocity) / 127.0,
                };
                if self.context.try_send_event(on).is_err() {
                    *self.unsent_on = Some(pitch);
                    self.dropped += 1;
                } else {
                    self.passed.melody_on(channel, pitch);
                }
            }
            NoteOut::Off { pitch, .. } if self.unsent_on.take_if(|p| *p == pitch).is_some() => {}
            NoteOut::Off { offset_samples, pitch } => {
                if let Some(channel) = self.passed.melody_off(pitch) {
                    self.send(note_off(offset_samples, channel, pitch));
                }
            }
        }
    }

    /// Sends `event`; a refused note-off is owed (offered again from the next block on), any
    /// other refusal is counted.
    fn send(&mut self, event: PluginNoteEvent<Neume>) {
        if let Err((refused, _)) = self.context.try_send_event(event) {
            match refused {
                NoteEvent::NoteOff {
                    channel: Channel::Number(channel),
                    key: Key::Number(key),
                    ..
                } => self.owed.owe(channel, key),
                _ => self.dropped += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::Meter;

    fn playing(bar: Option<HostBar>) -> TransportInfo {
        TransportInfo {
            playing: true,
            tempo_bpm: Some(120.0),
            pos_beats: Some(10.0),
            pos_samples: None,
            loop_beats: None,
            bar,
        }
    }

    /// Capture records in every meter playback plays: 5/4 and 7/8 in 4/4 bars from the
    /// song's bar line (before: no grid, and the editor waited for the first note forever);
    /// a bar start the host got wrong (NaN) gives no grid rather than every note on step 0.
    #[test]
    fn capture_has_a_grid_in_every_meter_playback_plays_and_none_on_a_broken_bar() {
        let bar = |start_beats: f64, len_beats: f64| HostBar { start_beats, number: 2, len_beats };
        for (signature, len, meter) in [
            ((5, 4), 5.0, Meter::FourFour),
            ((7, 8), 3.5, Meter::FourFour),
            ((6, 8), 3.0, Meter::SixEight),
        ] {
            let grid = capture_grid(&playing(Some(bar(8.0, len))), Some(signature), 48_000.0)
                .unwrap_or_else(|| panic!("no grid in {signature:?}"));
            assert_eq!((grid.meter, grid.bar_origin_beats), (meter, 8.0), "{signature:?}");
        }
        assert_eq!(capture_grid(&playing(Some(bar(f64::NAN, 4.0))), Some((4, 4)), 48_000.0), None);
        assert_eq!(capture_grid(&playing(Some(bar(8.0, f64::NAN))), Some((4, 4)), 48_000.0), None);
    }
}
