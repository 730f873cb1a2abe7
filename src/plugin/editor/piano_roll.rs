//! Drawing melodies: the piano roll (a keyboard with pitch names, a bar ruler with padlocks,
//! bar and beat lines, the scale's rows shaded, the playhead; bars selected, notes picked,
//! moved, added and deleted by clicks and drags) and small thumbnails for the history. Editor
//! thread.

use egui::{Color32, Pos2, Rect, Sense, Stroke, Ui, Vec2};

use crate::encoding::{Meter, Note};
use crate::sampling::generate::Scale;

/// Colours of the roll.
const BACKGROUND: Color32 = Color32::from_rgb(24, 26, 31);
const SCALE_ROW: Color32 = Color32::from_rgb(34, 38, 46);
const BAR_LINE: Color32 = Color32::from_rgb(90, 96, 110);
const BEAT_LINE: Color32 = Color32::from_rgb(46, 50, 60);
const NOTE: Color32 = Color32::from_rgb(110, 200, 160);
const PLAYHEAD: Color32 = Color32::from_rgb(250, 190, 80);
const CLIP: Color32 = Color32::from_rgb(190, 150, 250);

/// Pitch range shown: the melody's, padded, at least two octaves.
fn pitch_range(notes: &[Note]) -> (u8, u8) {
    let (lo, hi) =
        notes.iter().fold((u8::MAX, 0), |(lo, hi), n| (lo.min(n.pitch), hi.max(n.pitch)));
    if lo > hi {
        return (60, 84);
    }
    let (lo, hi) = (lo.saturating_sub(2), hi.saturating_add(2).min(127));
    let missing = 24u8.saturating_sub(hi - lo);
    (lo.saturating_sub(missing / 2), (hi + missing - missing / 2).min(127))
}

/// Height of the bar ruler above the roll.
pub const RULER_HEIGHT: f32 = 18.0;

/// Width of the keyboard at the roll's left.
pub const KEYBOARD_WIDTH: f32 = 34.0;

const SELECTED_BAR: Color32 = Color32::from_rgba_premultiplied(60, 90, 140, 70);
const LOCKED_BAR: Color32 = Color32::from_rgba_premultiplied(60, 40, 20, 90);
const LOCK: Color32 = Color32::from_rgb(235, 170, 80);
const WHITE_KEY: Color32 = Color32::from_rgb(200, 204, 212);
const BLACK_KEY: Color32 = Color32::from_rgb(44, 47, 54);
const PICKED_NOTE: Color32 = Color32::from_rgb(250, 235, 150);

/// What the roll shows.
pub struct Roll<'a> {
    /// The melody, at sounding pitches.
    pub notes: &'a [Note],
    /// The musician's clip, outlined (where the melody comes from it).
    pub clip: &'a [Note],
    pub len_steps: u32,
    pub meter: Meter,
    pub key_root: u8,
    pub scale: Scale,
    pub playhead_steps: Option<f32>,
    /// Selected bars (bit `b`: bar `b + 1`).
    pub selected: u16,
    /// Locked bars.
    pub locked: u16,
    /// The note picked for editing (an index into `notes`).
    pub picked: Option<usize>,
}

/// What the musician did in the roll this frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RollEvent {
    /// A bar clicked on the ruler (`extend`: shift held, or a drag across bars from `anchor`).
    SelectBars { from: usize, to: usize },
    /// The padlock of a bar clicked.
    ToggleLock(usize),
    /// A note clicked: picked for editing.
    Pick(usize),
    /// A note dragged to another pitch (sounding).
    MoveNote { index: usize, pitch: u8 },
    /// A note deleted (right click, or Delete with it picked).
    DeleteNote(usize),
    /// An empty cell clicked: a note there.
    AddNote { pitch: u8, step: u32 },
    /// A click on nothing: the pick and the selection cleared.
    Clear,
}

/// Pitch name with its octave, C4 = 60 (`C#4`).
pub fn pitch_name(pitch: u8) -> String {
    const NAMES: [&str; 12] = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
    format!("{}{}", NAMES[usize::from(pitch % 12)], i32::from(pitch / 12) - 1)
}

fn is_black(pitch: u8) -> bool {
    matches!(pitch % 12, 1 | 3 | 6 | 8 | 10)
}

/// Where things are in the roll: the ruler, the keyboard and the grid of steps and pitches.
struct Geometry {
    ruler: Rect,
    keyboard: Rect,
    grid: Rect,
    lo: u8,
    hi: u8,
    row_h: f32,
    step_w: f32,
    bar_steps: u32,
}

impl Geometry {
    fn new(rect: Rect, lo: u8, hi: u8, len_steps: u32, meter: Meter) -> Geometry {
        let ruler = Rect::from_min_max(
            Pos2::new(rect.left() + KEYBOARD_WIDTH, rect.top()),
            Pos2::new(rect.right(), rect.top() + RULER_HEIGHT),
        );
        let grid = Rect::from_min_max(Pos2::new(ruler.left(), ruler.bottom()), rect.max);
        let keyboard = Rect::from_min_max(
            Pos2::new(rect.left(), grid.top()),
            Pos2::new(grid.left(), rect.bottom()),
        );
        Geometry {
            ruler,
            keyboard,
            grid,
            lo,
            hi,
            row_h: grid.height() / f32::from(hi - lo + 1),
            step_w: grid.width() / len_steps.max(1) as f32,
            bar_steps: meter.bar_steps() as u32,
        }
    }

    fn y_of(&self, pitch: u8) -> f32 {
        self.grid.bottom() - (f32::from(pitch - self.lo) + 1.0) * self.row_h
    }

    fn x_of(&self, step: u32) -> f32 {
        self.grid.left() + step as f32 * self.step_w
    }

    fn pitch_at(&self, y: f32) -> u8 {
        let row = ((self.grid.bottom() - y) / self.row_h).floor().max(0.0) as i32;
        (i32::from(self.lo) + row).clamp(i32::from(self.lo), i32::from(self.hi)) as u8
    }

    fn step_at(&self, x: f32) -> u32 {
        ((x - self.grid.left()) / self.step_w).floor().max(0.0) as u32
    }

    fn bar_at(&self, x: f32) -> usize {
        (self.step_at(x) / self.bar_steps.max(1)) as usize
    }

    fn bar_rect(&self, bar: usize, band: Rect) -> Rect {
        let start = bar as u32 * self.bar_steps;
        Rect::from_min_max(
            Pos2::new(self.x_of(start), band.top()),
            Pos2::new(self.x_of(start + self.bar_steps).min(band.right()), band.bottom()),
        )
    }

    /// The padlock's box at the right end of a bar's ruler cell.
    fn lock_rect(&self, bar: usize) -> Rect {
        let cell = self.bar_rect(bar, self.ruler);
        Rect::from_center_size(Pos2::new(cell.right() - 9.0, cell.center().y), Vec2::splat(14.0))
    }

    fn note_rect(&self, note: &Note) -> Rect {
        Rect::from_min_size(
            Pos2::new(self.x_of(note.start_step), self.y_of(note.pitch)),
            Vec2::new((note.len_steps as f32 * self.step_w - 1.0).max(2.0), self.row_h.max(2.0)),
        )
    }
}

/// Draws a padlock, closed or open, in `r`.
fn padlock(painter: &egui::Painter, r: Rect, closed: bool, color: Color32) {
    let body = Rect::from_min_max(
        Pos2::new(r.left() + 2.0, r.center().y - 1.0),
        r.max - Vec2::new(2.0, 1.0),
    );
    let stroke = Stroke::new(1.5, color);
    if closed {
        painter.rect_filled(body, 1.0, color);
    } else {
        painter.rect_stroke(body, 1.0, stroke, egui::StrokeKind::Inside);
    }
    let (left, right) = (body.left() + 2.5, body.right() - 2.5);
    let top = r.top() + 1.5;
    let lift = if closed { 0.0 } else { 3.0 };
    painter.line_segment(
        [Pos2::new(left, body.top() - lift), Pos2::new(left, top + 2.0 - lift)],
        stroke,
    );
    painter.line_segment([Pos2::new(right, body.top()), Pos2::new(right, top + 2.0)], stroke);
    painter.line_segment([Pos2::new(left, top + 2.0 - lift), Pos2::new(right, top + 2.0)], stroke);
}

/// The piano roll, as a DAW draws one: a keyboard with pitch names at the left (every C named,
/// C4 = middle C), bar numbers on a ruler with a padlock per bar, bar and beat lines, the
/// scale's rows shaded, the notes (the picked one lit), the clip outlined, the selected and the
/// locked bars tinted, and the playhead. Clicks and drags come back as [`RollEvent`]s: bars
/// selected on the ruler (click, shift-click, drag), a padlock toggled, a note picked, dragged
/// to another pitch, deleted (right click) or added (a click on an empty cell).
pub fn piano_roll(
    ui: &mut Ui,
    size: Vec2,
    roll: &Roll<'_>,
    anchor: &mut Option<usize>,
) -> Option<RollEvent> {
    let (rect, response) = ui.allocate_exact_size(size, Sense::click_and_drag());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 4.0, BACKGROUND);
    let all: Vec<Note> = roll.notes.iter().chain(roll.clip).copied().collect();
    let (lo, hi) = pitch_range(&all);
    let len_steps = roll.len_steps.max(1);
    let g = Geometry::new(rect, lo, hi, len_steps, roll.meter);
    let bars = (len_steps as usize).div_ceil(g.bar_steps.max(1) as usize).min(16);
    for pitch in lo..=hi {
        let row = Rect::from_min_size(
            Pos2::new(g.grid.left(), g.y_of(pitch)),
            Vec2::new(g.grid.width(), g.row_h),
        );
        if roll.scale != Scale::Chromatic && roll.scale.contains(roll.key_root, pitch % 12) {
            painter.rect_filled(row, 0.0, SCALE_ROW);
        }
        let key = Rect::from_min_size(
            Pos2::new(g.keyboard.left(), g.y_of(pitch)),
            Vec2::new(g.keyboard.width() - 2.0, g.row_h),
        );
        painter.rect_filled(
            key.shrink2(Vec2::new(0.0, 0.25)),
            0.0,
            if is_black(pitch) { BLACK_KEY } else { WHITE_KEY },
        );
        if pitch % 12 == 0 && g.row_h >= 2.5 {
            painter.text(
                Pos2::new(key.left() + 2.0, key.center().y),
                egui::Align2::LEFT_CENTER,
                pitch_name(pitch),
                egui::FontId::proportional(g.row_h.clamp(7.0, 11.0)),
                if pitch == 60 { Color32::from_rgb(160, 40, 40) } else { Color32::BLACK },
            );
        }
    }
    for bar in 0..bars {
        let cell = g.bar_rect(bar, g.ruler);
        let column = g.bar_rect(bar, g.grid);
        if roll.locked & (1 << bar) != 0 {
            painter.rect_filled(column, 0.0, LOCKED_BAR);
        }
        if roll.selected & (1 << bar) != 0 {
            painter.rect_filled(column, 0.0, SELECTED_BAR);
            painter.rect_filled(cell, 0.0, Color32::from_rgb(60, 90, 140));
        }
        painter.text(
            Pos2::new(cell.left() + 4.0, cell.center().y),
            egui::Align2::LEFT_CENTER,
            (bar + 1).to_string(),
            egui::FontId::proportional(12.0),
            Color32::from_gray(220),
        );
        let locked = roll.locked & (1 << bar) != 0;
        if locked || cell.width() > 40.0 {
            padlock(
                &painter,
                g.lock_rect(bar),
                locked,
                if locked { LOCK } else { Color32::from_gray(110) },
            );
        }
    }
    for step in (0..len_steps).step_by(roll.meter.beat_steps()) {
        let x = g.x_of(step);
        let on_bar = step % g.bar_steps == 0;
        painter.line_segment(
            [
                Pos2::new(x, if on_bar { g.ruler.top() } else { g.grid.top() }),
                Pos2::new(x, g.grid.bottom()),
            ],
            Stroke::new(1.0, if on_bar { BAR_LINE } else { BEAT_LINE }),
        );
    }
    // The note dragged, drawn at the pitch under the pointer.
    let pointer = response.interact_pointer_pos().or_else(|| response.hover_pos());
    let dragging =
        response.dragged() && g.grid.contains(response.interact_pointer_pos().unwrap_or_default());
    for (i, note) in roll.notes.iter().enumerate().filter(|(_, n)| (lo..=hi).contains(&n.pitch)) {
        let picked = roll.picked == Some(i);
        let mut shown = *note;
        if picked && dragging {
            if let Some(p) = pointer {
                shown.pitch = g.pitch_at(p.y);
            }
        }
        painter.rect_filled(g.note_rect(&shown), 2.0, if picked { PICKED_NOTE } else { NOTE });
    }
    for note in
        roll.clip.iter().filter(|n| (lo..=hi).contains(&n.pitch) && n.start_step < len_steps)
    {
        painter.rect_stroke(
            g.note_rect(note),
            2.0,
            Stroke::new(2.0, CLIP),
            egui::StrokeKind::Inside,
        );
    }
    if let Some(p) = roll.playhead_steps {
        let x = g.grid.left() + (p % len_steps as f32) * g.step_w;
        painter.line_segment(
            [Pos2::new(x, g.ruler.top()), Pos2::new(x, g.grid.bottom())],
            Stroke::new(2.0, PLAYHEAD),
        );
    }
    events(ui, &response, &g, roll, bars, anchor)
}

/// The event of this frame's clicks and drags.
fn events(
    ui: &Ui,
    response: &egui::Response,
    g: &Geometry,
    roll: &Roll<'_>,
    bars: usize,
    anchor: &mut Option<usize>,
) -> Option<RollEvent> {
    let note_at = |p: Pos2| {
        roll.notes.iter().position(|n| g.note_rect(n).expand2(Vec2::new(0.0, 1.0)).contains(p))
    };
    let last_bar = bars.saturating_sub(1);
    if response.drag_started() {
        let p = response.interact_pointer_pos()?;
        if g.ruler.contains(p) {
            let bar = g.bar_at(p.x).min(last_bar);
            *anchor = Some(bar);
            return Some(RollEvent::SelectBars { from: bar, to: bar });
        }
        if let Some(i) = note_at(p) {
            return Some(RollEvent::Pick(i));
        }
    }
    let origin = ui.input(|i| i.pointer.press_origin());
    let from_ruler = origin.is_some_and(|o| g.ruler.contains(o));
    if response.dragged() && from_ruler {
        let p = response.interact_pointer_pos()?;
        let from = anchor.unwrap_or_else(|| g.bar_at(p.x).min(last_bar));
        return Some(RollEvent::SelectBars { from, to: g.bar_at(p.x).min(last_bar) });
    }
    if response.drag_stopped() && !from_ruler {
        let p = response.interact_pointer_pos()?;
        if let Some(index) = roll.picked.filter(|_| g.grid.contains(p)) {
            let pitch = g.pitch_at(p.y);
            if roll.notes.get(index).is_some_and(|n| n.pitch != pitch) {
                return Some(RollEvent::MoveNote { index, pitch });
            }
        }
    }
    if response.secondary_clicked() {
        let p = response.interact_pointer_pos()?;
        return note_at(p).map(RollEvent::DeleteNote);
    }
    if response.clicked() {
        let p = response.interact_pointer_pos()?;
        if g.ruler.contains(p) {
            let bar = g.bar_at(p.x).min(last_bar);
            if g.lock_rect(bar).expand(2.0).contains(p) {
                return Some(RollEvent::ToggleLock(bar));
            }
            let shift = ui.input(|i| i.modifiers.shift);
            let from = if shift { anchor.unwrap_or(bar) } else { bar };
            *anchor = Some(from);
            return Some(RollEvent::SelectBars { from, to: bar });
        }
        if g.grid.contains(p) {
            return Some(match note_at(p) {
                Some(i) => RollEvent::Pick(i),
                None => {
                    let step = g.step_at(p.x);
                    if step < roll.len_steps {
                        RollEvent::AddNote { pitch: g.pitch_at(p.y), step }
                    } else {
                        RollEvent::Clear
                    }
                }
            });
        }
    }
    if let Some(i) = roll.picked {
        if ui.input(|input| {
            input.key_pressed(egui::Key::Delete) || input.key_pressed(egui::Key::Backspace)
        }) {
            return Some(RollEvent::DeleteNote(i));
        }
    }
    None
}

/// A small clickable picture of a melody; `current` is outlined.
pub fn thumbnail(ui: &mut Ui, notes: &[Note], len_steps: u32, current: bool) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(Vec2::new(64.0, 28.0), Sense::click());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, BACKGROUND);
    let (lo, hi) = pitch_range(notes);
    let row_h = rect.height() / f32::from(hi - lo + 1);
    let step_w = rect.width() / len_steps.max(1) as f32;
    for n in notes {
        let y = rect.bottom() - (f32::from(n.pitch.saturating_sub(lo)) + 1.0) * row_h;
        let r = Rect::from_min_size(
            Pos2::new(rect.left() + n.start_step as f32 * step_w, y),
            Vec2::new((n.len_steps as f32 * step_w).max(1.0), row_h.max(1.0)),
        );
        painter.rect_filled(r, 0.0, NOTE);
    }
    let outline = if current {
        PLAYHEAD
    } else if response.hovered() {
        BAR_LINE
    } else {
        BEAT_LINE
    };
    painter.rect_stroke(
        rect,
        2.0,
        Stroke::new(if current { 2.0 } else { 1.0 }, outline),
        egui::StrokeKind::Inside,
    );
    response
}
