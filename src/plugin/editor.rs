//! The editor: egui through nice-plug-egui, on the host's GUI thread. It shows the melody,
//! binds every parameter (the host's automation and the editor stay in sync because both go
//! through the parameters), keeps a history, collects ratings and gets the MIDI out.
//!
//! It never touches the audio thread's data: it reads the parameters, the melody the worker
//! stored in them, and the atomics in [`WorkerLink`] (playhead, tempo), and it asks the worker for
//! work through [`WorkerLink::send`] and [`WorkerLink::act`]. Split by job: [`actions`] (the buttons),
//! [`files`] (Save .mid, drag-out), [`piano_roll`], [`drag_out`], [`file_browser`]; this file
//! lays the window out.

mod actions;
pub mod drag_out;
pub mod drop_in;
pub mod file_browser;
mod files;
mod history;
pub mod piano_roll;
mod taste;
#[cfg(target_os = "linux")]
pub mod x11;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use egui::{Color32, RichText, Ui, Vec2};
use nice_plug::context::gui::GuiContext;
use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::{
    create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp,
};

use crate::encoding::{Meter, Note};
use crate::music::attributes::Attribute;
use crate::music::chords::Progression;
use crate::plugin::audio::audition::AuditionSender;
use crate::plugin::audio::capture::Phase;
use crate::plugin::cross::handoff::PlayMelody;
use crate::plugin::cross::shared::{Command, KeySource, WorkerLink};
use crate::plugin::worker::params::MAX_CHORDS_TEXT;
use crate::plugin::worker::params::{NeumeParams, Source, LATENT_KNOBS};
use crate::plugin::worker::state::SavedMelody;
use actions::{Actions, Message};
use file_browser::{FileBrowser, Outcome, Purpose};
use files::Files;

const ERROR: Color32 = Color32::from_rgb(240, 110, 100);
const DIM: Color32 = Color32::from_rgb(150, 155, 165);

/// What a clip is and how one comes in.
const CLIP_HINT: &str = "A clip is your own melody of 1–4 bars (a .mid file's first 4 bars and \
    its top line, or notes captured from Neume's MIDI input on the song's bars). Vary makes \
    variations of it, Continue carries it on; both come out in the clip's key, register and meter.";

/// Creates the editor for one plugin instance.
pub fn create(
    params: Arc<NeumeParams>,
    shared: Arc<WorkerLink>,
    audition: Arc<AuditionSender>,
) -> Option<EguiEditor<NeumeEditor>> {
    let (w, h) = *params.editor_size.read();
    let state = EguiEditorState::from_size(
        nice_plug::editor::dpi::LogicalSize::new(f64::from(w), f64::from(h)),
        1.0,
    );
    let settings = EguiNiceSettings {
        title: "Neume".into(),
        resize_hint: ResizeHint::RESIZABLE
            .with_min_logical_size(nice_plug::editor::dpi::LogicalSize::new(640.0, 480.0)),
        ..Default::default()
    };
    let app = NeumeEditor::new(params, shared, audition);
    create_egui_editor(state, nice_plug_egui::RepaintNotifier::default(), settings, app)
}

/// The editor's own state (GUI thread).
pub struct NeumeEditor {
    params: Arc<NeumeParams>,
    shared: Arc<WorkerLink>,
    gui: Option<GuiContext>,
    /// Plays a history entry on the audio output before it is chosen.
    audition: Arc<AuditionSender>,
    /// The buttons: history, ratings.
    actions: Actions,
    /// Save .mid and drag-out.
    files: Files,
    browser: Option<FileBrowser>,
    /// The last message for the user (file saved, rating stored, …) and whether it is an error.
    message: Option<Message>,
    /// The history entry last scrolled into view, and the history's length then.
    scrolled_to: Option<(usize, usize)>,
    /// Files dropped on the editor (started with the window; `None` where it could not be).
    drop_target: Option<drop_in::DropTarget>,
    /// The size saved with the project, to take when the window opens: the host creates the
    /// editor before it restores the project, so the window opens at the default size.
    restore_size: Option<(u32, u32)>,
    /// The chord progression being typed (`None`: not yet read from the project), and the
    /// project's chords when the field last took them.
    chords_text: Option<String>,
    chords_seen: Option<Option<String>>,
    /// Bars selected on the roll's ruler (bit `b`: bar `b + 1`), and the bar a shift-click
    /// or a drag extends the selection from.
    selected_bars: u16,
    bar_anchor: Option<usize>,
    /// The note picked in the roll for editing (an index into the melody's notes).
    picked: Option<usize>,
}

impl NeumeEditor {
    fn new(
        params: Arc<NeumeParams>,
        shared: Arc<WorkerLink>,
        audition: Arc<AuditionSender>,
    ) -> NeumeEditor {
        NeumeEditor {
            actions: Actions::new(params.clone(), shared.clone()),
            files: Files::new(params.clone(), shared.telemetry.clone()),
            params,
            shared,
            gui: None,
            audition,
            browser: None,
            message: None,
            scrolled_to: None,
            drop_target: None,
            restore_size: None,
            chords_text: None,
            chords_seen: None,
            selected_bars: 0,
            bar_anchor: None,
            picked: None,
        }
    }

    /// What a click or drag in the roll does: bars selected, a lock toggled, a note picked,
    /// moved, added or deleted (an edit is a new melody in the history, the one that plays).
    fn roll_event(
        &mut self,
        event: piano_roll::RollEvent,
        melody: &crate::encoding::Melody,
        meter: Meter,
        setter: &ParamSetter,
    ) {
        use piano_roll::RollEvent;
        let octave = 12 * self.params.octave.value();
        let stored = |pitch: u8| (i32::from(pitch) - octave).clamp(0, 127) as u8;
        let mut edited = melody.clone();
        match event {
            RollEvent::SelectBars { from, to } => {
                let (a, b) = (from.min(to).min(15), from.max(to).min(15));
                self.selected_bars = (a..=b).fold(0, |m, bar| m | 1 << bar);
                self.picked = None;
                return;
            }
            RollEvent::ToggleLock(bar) => {
                let bit = 1 << bar.min(15);
                let message = self.actions.set_locked(bit, self.actions.locked_bars() & bit == 0);
                self.say(Some(message));
                return;
            }
            RollEvent::Pick(i) => {
                self.picked = Some(i);
                return;
            }
            RollEvent::Clear => {
                (self.picked, self.selected_bars, self.bar_anchor) = (None, 0, None);
                return;
            }
            RollEvent::MoveNote { index, pitch } => match edited.notes.get_mut(index) {
                Some(note) => note.pitch = stored(pitch),
                None => return,
            },
            RollEvent::DeleteNote(index) => {
                if index >= edited.notes.len() {
                    return;
                }
                edited.notes.remove(index);
                self.picked = None;
            }
            RollEvent::AddNote { pitch, step } => {
                // One voice: a note sounding there ends where the new one starts, which lasts
                // a beat or up to the next note.
                let next = edited
                    .notes
                    .iter()
                    .map(|n| n.start_step)
                    .filter(|&s| s > step)
                    .min()
                    .unwrap_or(edited.len_steps);
                edited.notes.retain(|n| n.start_step != step);
                for n in
                    edited.notes.iter_mut().filter(|n| n.start_step < step && n.end_step() > step)
                {
                    n.len_steps = step - n.start_step;
                }
                let len = (meter.beat_steps() as u32).min(next - step).max(1);
                edited.notes.push(Note { pitch: stored(pitch), start_step: step, len_steps: len });
                edited.notes.sort_by_key(|n| n.start_step);
                self.picked = edited.notes.iter().position(|n| n.start_step == step);
            }
        }
        self.actions.edit(&edited, setter);
    }

    /// Shows `message`, if there is one, in place of the last.
    fn say(&mut self, message: Option<Message>) {
        if message.is_some() {
            self.message = message;
        }
    }

    fn toolbar(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        ui.horizontal_wrapped(|ui| {
            if ui
                .button("Generate")
                .on_hover_text("A new melody: new seed, new latent point (steered by your ratings)")
                .clicked()
            {
                self.actions.generate(setter);
            }
            if ui
                .button("Mutate")
                .on_hover_text("A small random step of the latent knobs")
                .clicked()
            {
                self.actions.mutate(setter);
            }
            ui.separator();
            if ui.add_enabled(self.actions.history.cursor > 0, egui::Button::new("Undo")).clicked()
            {
                self.actions.restore(self.actions.history.cursor - 1, setter);
            }
            if ui
                .add_enabled(
                    self.actions.history.cursor + 1 < self.actions.history.entries.len(),
                    egui::Button::new("Redo"),
                )
                .clicked()
            {
                self.actions.restore(self.actions.history.cursor + 1, setter);
            }
            ui.separator();
            if ui.button("Like").clicked() {
                let message = self.actions.rate(1);
                self.say(message);
            }
            if ui.button("Dislike").clicked() {
                let message = self.actions.rate(-1);
                self.say(message);
            }
            ui.separator();
            if ui.button("Load model…").clicked() {
                let dir = self
                    .params
                    .model_path
                    .read()
                    .as_ref()
                    .and_then(|p| PathBuf::from(p).parent().map(PathBuf::from))
                    .unwrap_or_else(|| self.files.last_dir.clone());
                self.browser = Some(FileBrowser::new(Purpose::LoadModel, dir, String::new()));
            }
            if ui.button("Load clip…").on_hover_text(CLIP_HINT).clicked() {
                self.browser = Some(FileBrowser::new(
                    Purpose::LoadClip,
                    self.files.last_dir.clone(),
                    String::new(),
                ));
            }
            if ui.button("Save .mid…").clicked() {
                self.browser = Some(FileBrowser::new(
                    Purpose::SaveMidi,
                    self.files.last_dir.clone(),
                    self.files.file_name(),
                ));
            }
            ui.separator();
            let selected = self.selected_bars;
            if ui
                .add_enabled(selected != 0, egui::Button::new("Regenerate"))
                .on_hover_text(
                    "The bars selected on the roll's ruler (click, shift-click or drag over the \
                     bar numbers) sung anew; the other bars stay note for note",
                )
                .clicked()
            {
                let message = self.actions.regenerate(selected, setter);
                self.say(Some(message));
            }
            // Every selected bar locked: the button unlocks them.
            let unlock = selected != 0 && self.actions.locked_bars() & selected == selected;
            if ui
                .add_enabled(
                    selected != 0,
                    egui::Button::new(if unlock { "Unlock" } else { "Lock" }),
                )
                .on_hover_text(
                    "Locked bars (a closed padlock on the ruler) stay as they are through \
                     Generate, Mutate, Vary and the knobs",
                )
                .clicked()
            {
                let message = self.actions.set_locked(selected, !unlock);
                self.say(Some(message));
            }
        });
    }

    /// The drag handle, at the right end of the title row.
    fn drag_handle(&mut self, ui: &mut Ui, frame: &nice_plug_egui::Frame) {
        let label = if self.files.dragging() { "Dragging…" } else { "Drag MIDI" };
        let handle = ui
            .add(
                egui::Button::new(RichText::new(label).strong())
                    .sense(egui::Sense::click_and_drag()),
            )
            .on_hover_text("Drag the melody into a track as a .mid file");
        if handle.drag_started() && !self.files.dragging() {
            let message = self.files.start_drag(frame);
            self.say(message);
        }
    }

    fn controls(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        let p = self.params.clone();
        ui.horizontal_top(|ui| {
            // The loaded model names its knobs (a model without named knobs: `Latent i`).
            let names = self.shared.status.lock().knob_names.clone();
            group(ui, "Knobs", 430.0, |ui| {
                egui::Grid::new("latent").num_columns(4).spacing([6.0, 4.0]).show(ui, |ui| {
                    let knobs = p.knob_params();
                    for row in 0..LATENT_KNOBS / 2 {
                        for i in [row, row + LATENT_KNOBS / 2] {
                            let name =
                                names.get(i).cloned().unwrap_or_else(|| format!("{}", i + 1));
                            let hint = Attribute::from_name(&name).map_or_else(
                                || "A direction of the model's latent space".to_string(),
                                |a| {
                                    let (up, down) = a.words();
                                    format!("Right: {up}; left: {down}")
                                },
                            );
                            ui.label(name).on_hover_text(hint);
                            ui.add(ParamSlider::for_param(knobs[i], setter).with_width(110.0));
                        }
                        ui.end_row();
                    }
                });
            });
            group(ui, "Style", 260.0, |ui| {
                labelled(ui, "Variation", ParamSlider::for_param(&p.variation, setter));
                labelled(ui, "Seed", ParamSlider::for_param(&p.seed, setter));
                labelled(ui, "Bars", ParamSlider::for_param(&p.bars, setter));
                labelled(ui, "Form", ParamSlider::for_param(&p.form, setter));
            });
        });
        ui.horizontal_top(|ui| {
            group(ui, "Key", 250.0, |ui| {
                labelled(ui, "Key", ParamSlider::for_param(&p.key_root, setter));
                labelled(ui, "Scale", ParamSlider::for_param(&p.scale, setter));
                labelled(ui, "From", ParamSlider::for_param(&p.key_from, setter));
                let heard = self.shared.status.lock().key_heard;
                let heard =
                    heard.or(self.shared.telemetry.heard_key().map(|k| (k, KeySource::Input)));
                let hears = match heard {
                    Some((key, KeySource::Input)) => format!("Hears: {key}"),
                    Some((key, KeySource::Clip)) => format!("Hears: {key} (in the clip)"),
                    None => "Hears: nothing yet (play into Neume's MIDI input)".to_string(),
                };
                ui.label(hears).on_hover_text(
                    "The key of the notes played into Neume, or of a clip since it came. With Key \
                     from MIDI input, new melodies are in it (major or natural minor).",
                );
                labelled(ui, "Octave", ParamSlider::for_param(&p.octave, setter));
            });
            group(ui, "Feel", 240.0, |ui| {
                labelled(ui, "Velocity", ParamSlider::for_param(&p.velocity, setter));
                labelled(ui, "Gate", ParamSlider::for_param(&p.gate, setter));
                labelled(ui, "Swing", ParamSlider::for_param(&p.swing, setter));
                labelled(ui, "Preview", ParamSlider::for_param(&p.preview, setter));
            });
            group(ui, "Morph", 290.0, |ui| {
                ui.horizontal(|ui| {
                    if ui.button("Store A").clicked() {
                        let message = self.actions.store(false, setter);
                        self.say(message);
                    }
                    if ui.button("Store B").clicked() {
                        let message = self.actions.store(true, setter);
                        self.say(message);
                    }
                    if ui
                        .button("Clear")
                        .on_hover_text("Forget the stored points A and B")
                        .clicked()
                    {
                        let message = self.actions.clear_points(setter);
                        self.say(message);
                    }
                    let stored = |x: bool| if x { "stored" } else { "empty" };
                    ui.label(
                        RichText::new(format!(
                            "A {}, B {}",
                            stored(p.point_a.read().is_some()),
                            stored(p.point_b.read().is_some())
                        ))
                        .color(DIM),
                    );
                });
                labelled(ui, "A - B", ParamSlider::for_param(&p.morph, setter));
                labelled(ui, "Swap at bar", ParamSlider::for_param(&p.swap_at_bar, setter));
            });
        });
    }

    /// The chord lane under the roll (each chord's name at its bar and beat, over the
    /// melody's length), and the progression field: `Am F C G`, `Am:2 F:2 C G`, as
    /// `neume generate --chords` reads it. Enter or Apply makes a melody over the chords;
    /// Clear takes them away. A progression that cannot be read is refused with the reason,
    /// and the melody plays on.
    fn chord_lane(
        &mut self,
        ui: &mut Ui,
        setter: &ParamSetter,
        width: f32,
        len: u32,
        meter: Meter,
    ) {
        let saved = self.params.chords.read().clone();
        let progression = saved.as_deref().and_then(|t| Progression::parse(t, meter).ok());
        // The lane's room is taken whenever chords are saved (the roll gave it up), its names
        // drawn when they read.
        let lane = saved
            .is_some()
            .then(|| ui.allocate_exact_size(Vec2::new(width, 18.0), egui::Sense::hover()).0);
        if let (Some(progression), Some(rect)) = (&progression, lane) {
            let painter = ui.painter_at(rect);
            painter.rect_filled(rect, 2.0, egui::Color32::from_gray(30));
            let len = len.max(1);
            let mut offset = 0;
            while offset < len {
                for span in &progression.spans {
                    let start = offset + span.start_step;
                    if start >= len {
                        break;
                    }
                    let x = rect.left() + width * start as f32 / len as f32;
                    painter.line_segment(
                        [egui::pos2(x, rect.top()), egui::pos2(x, rect.bottom())],
                        egui::Stroke::new(1.0, egui::Color32::from_gray(90)),
                    );
                    let name = span.chord.map_or("N".to_string(), |c| c.to_string());
                    painter.text(
                        egui::pos2(x + 3.0, rect.center().y),
                        egui::Align2::LEFT_CENTER,
                        name,
                        egui::FontId::proportional(12.0),
                        egui::Color32::from_rgb(230, 200, 120),
                    );
                }
                offset += progression.len_steps.max(1);
            }
        }
        // Chords set elsewhere (heard by Capture chords, Undo, a reopened project) replace
        // what the field shows.
        if self.chords_seen.as_ref() != Some(&saved) {
            self.chords_text = Some(saved.clone().unwrap_or_default());
            self.chords_seen = Some(saved.clone());
        }
        let text = self.chords_text.get_or_insert_with(|| saved.clone().unwrap_or_default());
        let (entered, applied, cleared) = ui
            .horizontal(|ui| {
                ui.label("Chords").on_hover_text(
                    "The song's chords, one a bar (Am F C G) or with a length in beats after a \
                     colon (Am:2 F:2 C G); N for none. The melody's notes on the beats land on \
                     them",
                );
                let field = ui.add(
                    egui::TextEdit::singleline(text)
                        .hint_text("Am F C G")
                        .desired_width(360.0)
                        .char_limit(MAX_CHORDS_TEXT),
                );
                let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                (entered, ui.button("Apply").clicked(), ui.button("Clear").clicked())
            })
            .inner;
        if cleared {
            text.clear();
        }
        let typed = text.trim().to_string();
        if cleared || ((entered || applied) && typed.is_empty()) {
            let message = self.actions.set_chords(None, setter);
            self.say(message);
        } else if entered || applied {
            let message = match Progression::parse(&typed, meter) {
                Ok(p) => {
                    let said = format!("Chords: {} ({} bars of {meter})", p.to_text(), p.bars());
                    self.actions.set_chords(Some(typed), setter);
                    (said, false)
                }
                Err(e) => (format!("Chords: {e}"), true),
            };
            self.say(Some(message));
        }
    }

    /// The clip: Capture, where melodies come from, Vary and Continue, and what the clip is.
    fn clip_row(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        let p = self.params.clone();
        let clip = self.actions.clip();
        group(ui, "Your clip", 868.0, |ui| {
            ui.horizontal(|ui| {
                toggle(ui, "Capture", &p.capture, setter).on_hover_text(
                    "Records the notes played into Neume on the song's bars, from the bar of the \
                     first note (the transport must play)",
                );
                choice(ui, "capture-bars", &p.capture_bars, setter);
                choice_sized(ui, "capture-what", &p.capture_what, setter, Some(64.0))
                    .on_hover_text(
                        "Melody: the notes played become the clip. Chords: the chords played are \
                     named on the song's bars and the melody sits on them. Follow chords: take \
                     after take, the chords follow what you play",
                    );
                ui.separator();
                ui.label("Source");
                choice(ui, "source", &p.source, setter);
                ui.label("Amount").on_hover_text("How far variations move from the clip");
                ui.add(ParamSlider::for_param(&p.amount, setter).with_width(80.0));
                ui.separator();
                let has_clip = clip.is_some();
                if ui
                    .add_enabled(has_clip, egui::Button::new("Vary"))
                    .on_hover_text("Eight variations of the clip at this Amount, into the history")
                    .clicked()
                {
                    let message = self.actions.vary(setter);
                    self.say(message);
                }
                if ui
                    .add_enabled(has_clip, egui::Button::new("Continue"))
                    .on_hover_text("A melody that begins with the clip and carries on (Bars long)")
                    .clicked()
                {
                    let message = self.actions.continue_clip(setter);
                    self.say(message);
                }
                ui.separator();
                let replaced = p.replaced_clip.read().is_some();
                if ui
                    .add_enabled(replaced, egui::Button::new("Undo take"))
                    .on_hover_text("Brings back the clip the last Capture take replaced")
                    .clicked()
                {
                    let message = self.actions.undo_take(setter);
                    self.say(message);
                }
            });
            let phase = Phase::from_code(self.shared.telemetry.capture.load(Ordering::Relaxed));
            let capturing = match phase {
                Phase::Armed => Some("Capture: waiting for the first note (press play)"),
                Phase::Recording => Some("Capture: recording…"),
                Phase::Done => Some("Capture: done (switch it off and on for another take)"),
                Phase::Off => None,
            };
            let what = match &clip {
                Some(clip) => {
                    let source = p.source.value();
                    let use_ = match source {
                        Source::Invent => "not used: Source is Invent",
                        Source::Vary => "varied; outlined in the roll",
                        Source::Continue => "continued; outlined in the roll",
                    };
                    format!("Clip: {} ({use_})", actions::clip_words(clip))
                }
                None => "No clip: switch Capture on and play into Neume, drop a .mid file on \
                         the editor, or Load clip…"
                    .to_string(),
            };
            let captured = self.shared.status.lock().clip_note.clone();
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(what).color(DIM)).on_hover_text(CLIP_HINT);
                match capturing {
                    Some(c) => ui.label(RichText::new(c).strong()),
                    None => ui.label(RichText::new(captured.unwrap_or_default()).color(DIM)),
                };
            });
        });
    }

    fn ratings_row(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        let latent_size = self.params.melody.read().as_ref().map_or(0, |m| m.latent.len());
        let counts = self.actions.ratings().map(|r| r.counts(latent_size));
        let error = self.actions.take_ratings_error();
        self.say(error);
        ui.horizontal(|ui| {
            match counts {
                Some((0, 0)) | None => ui.label(
                    RichText::new("No ratings yet: Generate draws from the model's prior")
                        .color(DIM),
                ),
                Some((likes, dislikes)) => ui.label(format!(
                    "{} ratings shape Generate ({likes} liked, {dislikes} disliked)",
                    likes + dislikes
                )),
            };
            if counts.is_some_and(|c| c != (0, 0)) && ui.small_button("Reset ratings").clicked() {
                if let Some(Err(e)) = self.actions.reset_ratings() {
                    self.message = Some((e.to_string(), true));
                }
            }
        });
        ui.horizontal(|ui| {
            ui.label("Exploit")
                .on_hover_text("Generate picks the best of many candidates by what you like");
            ui.add(ParamSlider::for_param(&self.params.explore, setter).with_width(90.0));
            ui.label("Explore").on_hover_text(
                "Generate tries more of what you have not rated: fewer candidates compete",
            );
            ui.separator();
            let words = self.actions.taste_words();
            ui.label(RichText::new(words).strong()).on_hover_text(
                "What Generate has learned from your ratings, along the named knobs",
            );
        });
    }

    /// The history: a click on a melody chooses it; Hear under it auditions it first (Stop
    /// ends that).
    fn history_strip(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        let (mut clicked, mut audition) = (None, None);
        let playing = self.shared.telemetry.audition.load(Ordering::Relaxed);
        // The shown entry scrolls into view when it changes (a new melody at the end).
        let shown = (self.actions.history.cursor, self.actions.history.entries.len());
        let scroll = self.scrolled_to != Some(shown);
        self.scrolled_to = Some(shown);
        egui::ScrollArea::horizontal().id_salt("history").show(ui, |ui| {
            ui.horizontal(|ui| {
                for (i, h) in self.actions.history.entries.iter().enumerate() {
                    ui.vertical(|ui| {
                        let thumbnail = piano_roll::thumbnail(
                            ui,
                            &h.melody.notes,
                            h.melody.len_steps,
                            i == self.actions.history.cursor,
                        )
                        .on_hover_text(format!("seed {}: click to choose it", h.request.seed));
                        if scroll && i == self.actions.history.cursor {
                            thumbnail.scroll_to_me(Some(egui::Align::Center));
                        }
                        if thumbnail.clicked() {
                            clicked = Some(i);
                        }
                        let plays = playing != 0 && playing == h.key;
                        let (label, hint) = if plays {
                            ("Stop", "Stop the audition")
                        } else {
                            ("Hear", "Hear it once on Neume's audio output, before choosing it")
                        };
                        if ui
                            .add_sized(Vec2::new(64.0, 16.0), egui::Button::new(label).small())
                            .on_hover_text(hint)
                            .clicked()
                        {
                            audition = Some((i, plays));
                        }
                    });
                }
            });
        });
        if let Some(i) = clicked {
            self.actions.restore(i, setter);
        }
        match audition {
            Some((_, true)) => self.audition.stop(),
            Some((i, false)) => {
                let h = &self.actions.history.entries[i];
                self.audition.play(PlayMelody::from_melody(&h.melody, h.meter, h.key));
            }
            None => {}
        }
    }

    fn footer(&mut self, ui: &mut Ui) {
        let status = self.shared.status.lock().clone();
        ui.horizontal_wrapped(|ui| {
            let model = std::path::Path::new(&status.model_name)
                .file_name()
                .map_or(status.model_name.clone(), |n| n.to_string_lossy().into_owned());
            ui.label(RichText::new(format!("Model: {model}")).color(DIM));
            if !status.provenance.is_empty() {
                ui.label(RichText::new(format!("Trained on: {}", status.provenance)).color(DIM));
            }
            ui.label(RichText::new(format!("Backend: {}", status.backend)).color(DIM));
            if !status.meters.is_empty() {
                ui.label(RichText::new(format!("Meters: {}", status.meters)).color(DIM));
            }
            ui.label(
                RichText::new(format!("Last generation: {:.2} ms", status.last_generation_ms))
                    .color(DIM),
            );
            if !self.shared.telemetry.worker_alive.load(Ordering::Relaxed) && status.generations > 0
            {
                ui.colored_label(ERROR, "The generator stopped; the last melody keeps playing");
            }
            let dropped = self.shared.telemetry.dropped_events.load(Ordering::Relaxed);
            if dropped > 0 {
                ui.colored_label(
                    ERROR,
                    format!("{dropped} note events did not fit in the host's buffer"),
                );
            }
        });
        for e in [status.model_error, status.error, status.state_note, status.meter_note]
            .into_iter()
            .flatten()
        {
            ui.colored_label(ERROR, e);
        }
        if let Some(copy) = status.copy_note {
            ui.colored_label(ERROR, copy);
        }
        if let Some((m, is_error)) = &self.message {
            ui.colored_label(if *is_error { ERROR } else { DIM }, m);
        }
    }
}

impl NiceEguiApp for NeumeEditor {
    fn build(
        &mut self,
        _egui_ctx: egui::Context,
        gui: GuiContext,
        _frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        self.gui = Some(gui);
        self.restore_size = Some(*self.params.editor_size.read());
        #[cfg(target_os = "linux")]
        {
            self.drop_target = match drop_in::DropTarget::start(_frame.baseview_window()) {
                Ok(target) => Some(target),
                Err(e) => {
                    self.message = Some((e, true));
                    None
                }
            };
        }
        Ok(())
    }

    fn ui(&mut self, ui: &mut Ui, frame: &mut nice_plug_egui::Frame) {
        let Some(gui) = self.gui.clone() else { return };
        if let Some((w, h)) = self.restore_size.take() {
            let now = frame.baseview_window().size().logical;
            if (now.width - f64::from(w)).abs() >= 1.0 || (now.height - f64::from(h)).abs() >= 1.0 {
                // egui-baseview resizes the window and asks the host to fit it.
                ui.ctx().send_viewport_cmd(egui::ViewportCommand::InnerSize(Vec2::new(
                    w as f32, h as f32,
                )));
            }
        }
        let setter = gui.param_setter();
        self.actions.take_judged(&setter);
        let message = self.files.poll_drag();
        self.say(message);
        if let Some(path) = self.drop_target.as_ref().and_then(drop_in::DropTarget::take) {
            let message = self.actions.load_clip(&path);
            self.say(Some(message));
        }
        let saved = self.params.melody.read().clone();
        if let Some(s) = &saved {
            self.actions.track_history(s);
        }
        egui::Frame::NONE.inner_margin(10.0).show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading(RichText::new("Neume").strong());
                ui.label(RichText::new("melodies from a neural network").color(DIM));
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    self.drag_handle(ui, frame)
                });
            });
            if let Some(browser) = &mut self.browser {
                match browser.show(ui) {
                    Outcome::Pending => {}
                    Outcome::Cancelled => self.browser = None,
                    Outcome::Chosen(path) => {
                        let purpose = browser.purpose;
                        self.browser = None;
                        match purpose {
                            Purpose::LoadModel => {
                                self.shared.send(Command::LoadModel(path.clone()));
                                self.message =
                                    Some((format!("Loading {}…", path.display()), false));
                            }
                            Purpose::SaveMidi => {
                                let message = self.files.save_midi(path);
                                self.say(message);
                            }
                            Purpose::LoadClip => {
                                let message = self.actions.load_clip(&path);
                                self.say(Some(message));
                            }
                        }
                    }
                }
                return;
            }
            self.toolbar(ui, &setter);
            let width = ui.available_width();
            // What is below the roll takes about 536 pixels, and the chord rows: the roll
            // gives them its height, so nothing below it moves when chords come or go.
            let row = ui.spacing().interact_size.y + ui.spacing().item_spacing.y;
            let lane = if self.params.chords.read().is_some() {
                18.0 + ui.spacing().item_spacing.y
            } else {
                0.0
            };
            let height = (ui.available_height() - 536.0 - row - lane).clamp(120.0, 320.0);
            let melody = saved.as_ref().map(SavedMelody::melody).unwrap_or_default();
            let len = saved.as_ref().map_or(64, |s| s.len_steps);
            let meter = saved.as_ref().map_or(crate::encoding::Meter::FourFour, SavedMelody::meter);
            // The roll shows sounding pitches: the octave setting applied.
            let octave = 12 * self.params.octave.value();
            let shown: Vec<Note> = melody
                .notes
                .iter()
                .map(|n| Note { pitch: (i32::from(n.pitch) + octave).clamp(0, 127) as u8, ..*n })
                .collect();
            let playhead = self.shared.telemetry.position_steps.load(Ordering::Relaxed);
            // The clip, outlined, where the melody comes from it.
            let clip: Vec<Note> =
                match (self.params.source.value(), self.params.clip.read().as_ref()) {
                    (Source::Vary | Source::Continue, Some(clip)) => clip
                        .melody()
                        .notes
                        .iter()
                        .map(|n| Note {
                            pitch: (i32::from(n.pitch) + octave).clamp(0, 127) as u8,
                            ..*n
                        })
                        .collect(),
                    _ => Vec::new(),
                };
            let roll = piano_roll::Roll {
                notes: &shown,
                clip: &clip,
                len_steps: len,
                meter,
                key_root: self.params.key_root.value().clamp(0, 11) as u8,
                scale: self.params.scale.value(),
                playhead_steps: Some(playhead),
                selected: self.selected_bars,
                locked: self.actions.locked_bars(),
                picked: self.picked.filter(|&i| i < shown.len()),
            };
            if let Some(event) =
                piano_roll::piano_roll(ui, Vec2::new(width, height), &roll, &mut self.bar_anchor)
            {
                self.roll_event(event, &melody, meter, &setter);
            }
            // What is below the roll scrolls when the window is too short for it (at 900 ×
            // 720 the roll has given up what it can): every control and the footer's
            // messages stay reachable. At the default size it all fits and nothing moves.
            egui::ScrollArea::vertical().auto_shrink([false, true]).show(ui, |ui| {
                self.chord_lane(ui, &setter, width, len, meter);
                self.history_strip(ui, &setter);
                ui.add_space(4.0);
                self.controls(ui, &setter);
                self.clip_row(ui, &setter);
                self.ratings_row(ui, &setter);
                ui.separator();
                self.footer(ui);
            });
        });
        // Keep the playhead moving.
        ui.ctx().request_repaint_after(std::time::Duration::from_millis(33));
    }

    fn editor_closed(&mut self) {
        // The drop target's window and thread go with the editor's window.
        self.drop_target = None;
    }

    fn resized(&mut self, new_size: nice_plug_egui::baseview::WindowSize) {
        *self.params.editor_size.write() =
            (new_size.logical.width.round() as u32, new_size.logical.height.round() as u32);
    }
}

/// A titled group of controls, `width` wide.
fn group(ui: &mut Ui, title: &str, width: f32, add: impl FnOnce(&mut Ui)) {
    ui.group(|ui| {
        ui.vertical(|ui| {
            ui.set_width(width);
            ui.label(RichText::new(title).strong());
            add(ui);
        });
    });
}

/// A switch parameter as a button that stays down while on.
fn toggle(ui: &mut Ui, label: &str, param: &BoolParam, setter: &ParamSetter) -> egui::Response {
    let on = param.value();
    let response = ui.add(egui::Button::new(label).selected(on));
    if response.clicked() {
        crate::plugin::worker::request::set_as_gesture(setter, param, !on);
    }
    response
}

/// A choice parameter as a drop-down list of its variants' names.
fn choice<E: Enum + PartialEq + 'static>(
    ui: &mut Ui,
    id: &str,
    param: &EnumParam<E>,
    setter: &ParamSetter,
) -> egui::Response {
    choice_sized(ui, id, param, setter, None)
}

/// [`choice`], `width` wide where given.
fn choice_sized<E: Enum + PartialEq + 'static>(
    ui: &mut Ui,
    id: &str,
    param: &EnumParam<E>,
    setter: &ParamSetter,
    width: Option<f32>,
) -> egui::Response {
    let names = E::variants();
    let now = param.value().to_index();
    let mut picked = now;
    let mut combo = egui::ComboBox::from_id_salt(id);
    if let Some(width) = width {
        combo = combo.width(width);
    }
    let response = combo
        .selected_text(names.get(now).copied().unwrap_or(""))
        .show_ui(ui, |ui| {
            for (i, name) in names.iter().enumerate() {
                ui.selectable_value(&mut picked, i, *name);
            }
        })
        .response;
    if picked != now {
        crate::plugin::worker::request::set_as_gesture(setter, param, E::from_index(picked));
    }
    response
}

fn labelled(ui: &mut Ui, label: &str, slider: impl egui::Widget) {
    ui.horizontal(|ui| {
        ui.add_sized(Vec2::new(70.0, 18.0), egui::Label::new(label));
        ui.add(slider);
    });
}
