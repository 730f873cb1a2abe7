//! Drawing melodies: the piano roll with bar lines, the scale's notes shaded and the playhead,
//! and small thumbnails for the history. Editor thread.

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

/// The piano roll: `notes` over `len_steps` steps (output pitches) with the bar and beat
/// lines of `meter`, rows of `scale` on `key_root` shaded, the playhead at `playhead_steps`,
/// and the musician's `clip` outlined (told apart from the generated notes, which are filled).
pub fn piano_roll(
    ui: &mut Ui,
    size: Vec2,
    notes: &[Note],
    clip: &[Note],
    len_steps: u32,
    meter: Meter,
    key_root: u8,
    scale: Scale,
    playhead_steps: Option<f32>,
) {
    let (rect, _) = ui.allocate_exact_size(size, Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 4.0, BACKGROUND);
    let all: Vec<Note> = notes.iter().chain(clip).copied().collect();
    let (lo, hi) = pitch_range(&all);
    let rows = f32::from(hi - lo + 1);
    let row_h = rect.height() / rows;
    let steps = len_steps.max(1) as f32;
    let step_w = rect.width() / steps;
    let y_of = |pitch: u8| rect.bottom() - (f32::from(pitch - lo) + 1.0) * row_h;
    for pitch in lo..=hi {
        if scale != Scale::Chromatic && scale.contains(key_root, pitch % 12) {
            painter.rect_filled(
                Rect::from_min_size(
                    Pos2::new(rect.left(), y_of(pitch)),
                    Vec2::new(rect.width(), row_h),
                ),
                0.0,
                SCALE_ROW,
            );
        }
    }
    for step in (0..len_steps).step_by(meter.beat_steps()) {
        let x = rect.left() + step as f32 * step_w;
        let color = if step as usize % meter.bar_steps() == 0 { BAR_LINE } else { BEAT_LINE };
        painter.line_segment(
            [Pos2::new(x, rect.top()), Pos2::new(x, rect.bottom())],
            Stroke::new(1.0, color),
        );
    }
    for note in notes.iter().filter(|n| (lo..=hi).contains(&n.pitch)) {
        let min = Pos2::new(rect.left() + note.start_step as f32 * step_w, y_of(note.pitch));
        let r = Rect::from_min_size(
            min,
            Vec2::new((note.len_steps as f32 * step_w - 1.0).max(2.0), row_h.max(2.0)),
        );
        painter.rect_filled(r, 2.0, NOTE);
    }
    for note in clip.iter().filter(|n| (lo..=hi).contains(&n.pitch) && n.start_step < len_steps) {
        let min = Pos2::new(rect.left() + note.start_step as f32 * step_w, y_of(note.pitch));
        let r = Rect::from_min_size(
            min,
            Vec2::new((note.len_steps as f32 * step_w - 1.0).max(2.0), row_h.max(2.0)),
        );
        painter.rect_stroke(r, 2.0, Stroke::new(2.0, CLIP), egui::StrokeKind::Inside);
    }
    if let Some(p) = playhead_steps {
        let x = rect.left() + (p % steps) * step_w;
        painter.line_segment(
            [Pos2::new(x, rect.top()), Pos2::new(x, rect.bottom())],
            Stroke::new(2.0, PLAYHEAD),
        );
    }
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
